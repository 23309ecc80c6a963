#!/usr/bin/env bash
# memory: scoring 1,000,000 rows in one query keeps the backend's memory flat.
# One psql session reads VmHWM/VmRSS of its own backend after scoring 100,000 rows and
# again after 1,000,000; the growth must stay under LIMIT_KB.
set -euo pipefail
db=lq_memory_$$
limit_kb=${LIMIT_KB:-30720}
trap 'dropdb --if-exists "$db" 2>/dev/null' EXIT
createdb "$db"
out=$(psql -X -At -F ' ' -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION leadqual;
CREATE TABLE mem_leads (id integer, title text, employees integer, country text, seen_at timestamptz);
INSERT INTO leadqual.models (model, lead_table) VALUES ('mem', 'mem_leads');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, enabled) VALUES
 ('mem', 'head', 'title', 'ilike', '%head of%', 10, true),
 ('mem', 'größe', 'title', 'ilike', '%größe%', 1, true),
 ('mem', 'cto', 'title', 'regex', '^(CTO|CEO)', 7, true),
 ('mem', 'size', 'employees', 'between', '{50,5000}', 5, true),
 ('mem', 'dach', 'country', 'in', '{DE,AT,CH,LI,LU}', 3, true),
 ('mem', 'far', 'country', 'not_in', '{DE,AT,CH,FR}', -4, true),
 ('mem', 'seen', 'seen_at', 'gt', '2026-01-01', 1, true);
-- rows built per call (ProjectSet, nothing materialised, no shared buffers touched)
CREATE FUNCTION score_rows(n integer) RETURNS float8 LANGUAGE sql AS $$
    SELECT sum(leadqual.score(ROW(g, (ARRAY['Head of Engineering', 'CTO', 'GRÖSSE AG', 'intern'])[1 + g % 4]
                                      || ' #' || g, g % 7000,
                                   (ARRAY['DE', 'US', 'FR', 'AT'])[1 + g % 4],
                                   TIMESTAMPTZ '2025-12-01' + g * INTERVAL '1 minute')::mem_leads, 'mem'))
      FROM (SELECT generate_series(1, n) AS g) s $$;
CREATE FUNCTION mem() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(regexp_replace(line, '^(\w+):\s+(\d+) kB$', '\1 \2'), ' ')
      FROM regexp_split_to_table(pg_read_file('/proc/' || pg_backend_pid() || '/status'), E'\n') line
     WHERE line ~ '^(VmHWM|VmRSS):' $$;
SELECT 'score100k', score_rows(100000);
SELECT 'mem100k', mem();
SELECT 'score1m', score_rows(1000000);
SELECT 'mem1m', mem();
-- past versions read by a query whose rows alternate between them (a lead's own version,
-- over stage_history): each distinct one is copied once, not once per row
INSERT INTO leadqual.models (model, lead_table) VALUES ('ver', 'mem_leads');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
SELECT 'ver', 'rule ' || g, 'title', 'ilike', '%title number ' || g || ' with some words%', g
  FROM generate_series(1, 60) g;
UPDATE leadqual.rules SET points = points + 1 WHERE model = 'ver';
UPDATE leadqual.rules SET points = points + 1 WHERE model = 'ver';
SELECT 'memver0', mem();
SELECT 'versions', count(leadqual.ruleset('ver', 2 + g % 2)) FROM generate_series(1, 40000) g;
SELECT 'memver1', mem();
-- explain: VmHWM also counts the C allocator's fragmentation from the 16 kB tuplestore
-- array every SRF call gets (PostgreSQL's own SRFs show the same), so measure what
-- explain keeps instead: the backend's memory contexts, read in the middle of the query.
CREATE TEMP TABLE ctx (g int, bytes bigint);
CREATE FUNCTION ctx_at(g int) RETURNS int LANGUAGE plpgsql AS $f$
BEGIN
    IF g IN (100000, 1000000) THEN
        INSERT INTO ctx SELECT g, sum(total_bytes) FROM pg_backend_memory_contexts;
    END IF;
    RETURN g;
END $f$;
SELECT 'explain1m', count(*) FROM (SELECT generate_series(1, 1000000) AS g) s,
    LATERAL leadqual.explain(ROW(ctx_at(g), 'CTO #' || g, g % 7000, 'US', NULL)::mem_leads, 'mem') e;
SELECT 'explainlist1m', count(*) FROM (
    SELECT leadqual.explain(ROW(ctx_at(g + 1000000), 'CTO #' || g, g % 7000, 'US', NULL)::mem_leads, 'mem')
      FROM (SELECT generate_series(-999999, 0) AS g) s) e;
-- rule set values read in by the thousand (COPY of ruleset_versions, a column of values):
-- the value cache keeps 64; one evicted before any call used it is freed at once, not
-- kept to the end of the transaction (both calls run in one)
CREATE FUNCTION values_ctx(n integer) RETURNS bigint LANGUAGE plpgsql AS $f$
DECLARE
    k bigint;
BEGIN
    SELECT count(*) FILTER (WHERE v IS NOT NULL) INTO k FROM (
        SELECT format('{"format": 1, "model": "v%s", "mql_threshold": 1, "fit_threshold": null, '
                      '"framework": null, "engagement_column": null, "half_life": null, '
                      '"rules": [], "frameworks": [], "event_rules": []}', g)::leadqual.ruleset AS v
          FROM generate_series(1, n) g) s;
    RETURN (SELECT sum(total_bytes) FROM pg_backend_memory_contexts);
END $f$;
SELECT 'ctxvalues', values_ctx(2000), values_ctx(20000);
-- one UPDATE's stage history: its changes are put in key order through a sort that
-- spills past work_mem, not held in memory all at once. A column default of
-- stage_history (evaluated for every history row written) samples the memory contexts
-- (but ExecutorState: PostgreSQL's own UPDATE with any row trigger grows it by ~28 bytes
-- a row).
CREATE TABLE hist_leads (id int PRIMARY KEY, title text, score float8, stage leadqual.stage,
                         stage_locked boolean NOT NULL DEFAULT false);
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('hist', 'hist_leads', 10);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
VALUES ('hist', 'head', 'title', 'ilike', '%head%', 10);
SELECT 'attach', leadqual.attach('hist_leads', 'hist');
SET leadqual.notify = off;
INSERT INTO hist_leads (id, title) SELECT g, 'Clerk' FROM generate_series(1, 1000000) g;
CREATE TABLE hist_ctx (rows int, bytes bigint);
CREATE SEQUENCE hist_seq;
CREATE FUNCTION hist_probe(rows int) RETURNS int LANGUAGE plpgsql AS $f$
BEGIN
    IF nextval('public.hist_seq') % 5000 = 0 THEN
        INSERT INTO public.hist_ctx SELECT rows, sum(total_bytes) FROM pg_backend_memory_contexts
         WHERE name <> 'ExecutorState';
    END IF;
    RETURN 0;
END $f$;
ALTER TABLE leadqual.stage_history ADD COLUMN probe int;
ALTER TABLE leadqual.stage_history ALTER COLUMN probe
    SET DEFAULT hist_probe(current_setting('mem.rows')::int);
SET work_mem = '4MB';
SET mem.rows = 100000;
UPDATE hist_leads SET title = 'Head' WHERE id <= 100000;
SET mem.rows = 1000000;
UPDATE hist_leads SET title = 'Head of ' || id;
UPDATE hist_leads SET title = 'Clerk';
RESET work_mem;
ALTER TABLE leadqual.stage_history DROP COLUMN probe;
SELECT 'ctxhistory', (SELECT max(bytes) FROM hist_ctx WHERE rows = 100000),
                     (SELECT max(bytes) FROM hist_ctx WHERE rows = 1000000),
                     (SELECT count(*) FROM hist_ctx);
-- the events trigger reads a lead's events through a cursor: 20,000 events with long
-- (compressed) types cost one fetch of memory, not a decompressed copy of each type
CREATE TABLE ev_leads (id int PRIMARY KEY, engagement float8 NOT NULL DEFAULT 0);
CREATE TABLE ev_events (lead_id int NOT NULL, event_type text, occurred_at timestamptz NOT NULL);
INSERT INTO leadqual.models (model, lead_table, engagement_column) VALUES ('ev', 'ev_leads', 'engagement');
INSERT INTO leadqual.event_rules (model, event_type, points) VALUES ('ev', 'demo', 10);
INSERT INTO ev_leads VALUES (1);
INSERT INTO ev_events SELECT 1, repeat('webinar ', 2500) || g, now() FROM generate_series(1, 20000) g;
SELECT 'attach_events', leadqual.attach_events('ev_events', 'lead_id', 'ev');
SELECT 'memev0', mem();
INSERT INTO ev_events VALUES (1, 'demo', now());
SELECT 'memev1', mem();
SELECT 'ctxexplain', (SELECT bytes FROM ctx WHERE g = 100000 ORDER BY bytes LIMIT 1),
                     (SELECT bytes FROM ctx WHERE g = 1000000 ORDER BY bytes LIMIT 1),
                     (SELECT max(bytes) FILTER (WHERE g = 1000000) - min(bytes) FILTER (WHERE g = 100000) FROM ctx);
SQL
)
echo "$out"
# status LABEL FIELD: the kB of FIELD (VmHWM, VmRSS) on the output line LABEL
status() { awk -v label="$1" -v field="$2" '$1 == label { for (i = 2; i < NF; i++) if ($i == field) print $(i + 1) }' <<<"$out"; }
# peak_growth WHAT BEFORE AFTER: fails if VmHWM grew more than the limit between two lines
peak_growth() {
	local before after
	before=$(status "$2" VmHWM)
	after=$(status "$3" VmHWM)
	echo "$1: VmHWM ${before} kB before, ${after} kB after"
	if [ -z "$after" ] || [ $((after - before)) -gt "$limit_kb" ]; then
		echo "memory: $1 grew the backend by $((after - before)) kB"
		exit 1
	fi
}
hwm1=$(status mem100k VmHWM)
hwm2=$(status mem1m VmHWM)
rss1=$(status mem100k VmRSS)
rss2=$(status mem1m VmRSS)
ctx=$(awk '$1 == "ctxexplain" { print $2, $3, $4 }' <<<"$out")
vals=$(awk '$1 == "ctxvalues" { print $2, $3 }' <<<"$out")
[ -n "$hwm1" ] && [ -n "$hwm2" ] && [ -n "$ctx" ] && [ -n "$vals" ] || { echo "memory: could not read VmHWM"; exit 1; }
growth=$((hwm2 - hwm1))
echo "after 100k rows: VmHWM ${hwm1} kB, VmRSS ${rss1} kB; after 1M rows: VmHWM ${hwm2} kB, VmRSS ${rss2} kB; peak growth ${growth} kB (limit ${limit_kb} kB)"
read -r ctx100k ctx1m ctxgrowth <<<"$ctx"
echo "memory contexts while explaining (LATERAL, then SELECT list): ${ctx100k} bytes at row 100,000, ${ctx1m} bytes at row 1,000,000; largest growth ${ctxgrowth} bytes"
if [ "$growth" -gt "$limit_kb" ]; then
	echo "memory: the backend grew by ${growth} kB while scoring 1,000,000 rows"
	exit 1
fi
read -r vals2k vals20k <<<"$vals"
echo "memory contexts after reading 2,000 distinct rule set values: ${vals2k} bytes; after 20,000 more in the same transaction: ${vals20k} bytes"
if [ $((vals20k - vals2k)) -gt $((limit_kb * 1024)) ]; then
	echo "memory: 20,000 rule set values read in kept $((vals20k - vals2k)) bytes more than 2,000"
	exit 1
fi
peak_growth "the events trigger over 20,000 events with 20 kB types" memev0 memev1
peak_growth "leadqual.ruleset(model, version) 40,000 times over two versions" memver0 memver1
read -r hist100k hist1m histn <<<"$(awk '$1 == "ctxhistory" { print $2, $3, $4 }' <<<"$out")"
echo "memory contexts while writing stage history: ${hist100k} bytes for an UPDATE of 100,000 leads, ${hist1m} bytes for 1,000,000 (${histn} samples)"
if [ -z "$hist1m" ] || [ "${histn:-0}" -lt 200 ]; then
	echo "memory: the stage history probe took no samples"
	exit 1
fi
if [ $((hist1m - hist100k)) -gt $((limit_kb * 1024)) ]; then
	echo "memory: the history of an UPDATE of 1,000,000 leads kept $((hist1m - hist100k)) bytes more than that of 100,000"
	exit 1
fi
if [ "$ctxgrowth" -gt $((limit_kb * 1024)) ]; then
	echo "memory: explain kept ${ctxgrowth} bytes more at row 1,000,000 than at row 100,000"
	exit 1
fi
