EXTENSION = leadqual
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" leadqual.control)
MODULE_big = leadqual
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
# No HEADERS: leadqual has no public C interface, so nothing goes into the server's include tree.
SRC_HEADERS = $(wildcard src/*.h)

# Scripts: 1.0 frozen as released; the 1.0 -> 1.1 update assembled from one file per
# concern (sql/1.0--1.1/NN_*.sql); a fresh 1.1 is 1.0 followed by that update, so both
# paths give the same objects (test/t/upgrade.sh checks it with real data).
DATA = sql/leadqual--1.0.sql
DATA_built = sql/leadqual--1.0--1.1.sql sql/leadqual--$(EXTVERSION).sql

PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
	-Wno-missing-field-initializers

# pg_regress: one file per feature, order pinned.
REGRESS = setup scoring rules operators patterns guard hostile security privileges parallel lifecycle lifecycle_edge quality funnel calibrate engagement events attachments limits fuzz_found wide_rows ruleset fit gains versions simulate citus drop
REGRESS_OPTS = --inputdir=. --load-extension=plpgsql

# isolation specs live in test/specs, their outputs in test/expected
ISOLATION = rule_cache lifecycle_rule_change rescore_vs_manual concurrent_inserts concurrent_events narrowed_plans notify_policy ruleset_snapshot simulate_snapshot
ISOLATION_OPTS = --inputdir=test --load-extension=leadqual

EXTRA_CLEAN = results/ output_iso/ regression.* test/output_iso

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(OBJS): $(SRC_HEADERS)

sql/leadqual--1.0--1.1.sql: $(sort $(wildcard sql/1.0--1.1/*.sql))
	cat $^ > $@

sql/leadqual--1.1.sql: sql/leadqual--1.0.sql sql/leadqual--1.0--1.1.sql
	cat $^ > $@
