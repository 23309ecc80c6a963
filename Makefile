EXTENSION = leadqual
MODULE_big = leadqual
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
HEADERS = $(wildcard src/*.h)

# The install script is assembled from one file per concern (sql/install/NN_*.sql).
DATA_built = sql/leadqual--1.0.sql

PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
	-Wno-missing-field-initializers

# pg_regress: one file per feature, order pinned.
REGRESS = setup scoring rules operators patterns guard hostile security privileges parallel lifecycle lifecycle_edge quality funnel calibrate engagement events drop
REGRESS_OPTS = --inputdir=. --load-extension=plpgsql

# isolation specs live in test/specs, their outputs in test/expected
ISOLATION = rule_cache lifecycle_rule_change rescore_vs_manual concurrent_inserts concurrent_events
ISOLATION_OPTS = --inputdir=test --load-extension=leadqual

EXTRA_CLEAN = sql/leadqual--1.0.sql results/ output_iso/ regression.* test/output_iso

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(OBJS): $(HEADERS)

sql/leadqual--1.0.sql: $(sort $(wildcard sql/install/*.sql))
	cat $^ > $@
