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
-- explain in the SELECT list: one result set per row, none of them kept
SELECT 'explain1m', count(*) FROM (
    SELECT leadqual.explain(ROW(g, 'CTO #' || g, g % 7000, 'US', NULL)::mem_leads, 'mem')
      FROM (SELECT generate_series(1, 1000000) AS g) s) e;
SELECT 'memexplain', mem();
SQL
)
echo "$out"
hwm1=$(awk '$1 == "mem100k" { for (i = 2; i < NF; i++) if ($i == "VmHWM") print $(i + 1) }' <<<"$out")
hwm2=$(awk '$1 == "mem1m" { for (i = 2; i < NF; i++) if ($i == "VmHWM") print $(i + 1) }' <<<"$out")
rss1=$(awk '$1 == "mem100k" { for (i = 2; i < NF; i++) if ($i == "VmRSS") print $(i + 1) }' <<<"$out")
rss2=$(awk '$1 == "mem1m" { for (i = 2; i < NF; i++) if ($i == "VmRSS") print $(i + 1) }' <<<"$out")
hwm3=$(awk '$1 == "memexplain" { for (i = 2; i < NF; i++) if ($i == "VmHWM") print $(i + 1) }' <<<"$out")
[ -n "$hwm1" ] && [ -n "$hwm2" ] && [ -n "$hwm3" ] || { echo "memory: could not read VmHWM"; exit 1; }
growth=$((hwm2 - hwm1))
echo "after 100k rows: VmHWM ${hwm1} kB, VmRSS ${rss1} kB; after 1M rows: VmHWM ${hwm2} kB, VmRSS ${rss2} kB; peak growth ${growth} kB (limit ${limit_kb} kB)"
echo "after explain over 1M rows: VmHWM ${hwm3} kB; growth since 100k rows $((hwm3 - hwm1)) kB"
if [ "$growth" -gt "$limit_kb" ]; then
	echo "memory: the backend grew by ${growth} kB while scoring 1,000,000 rows"
	exit 1
fi
if [ $((hwm3 - hwm1)) -gt "$limit_kb" ]; then
	echo "memory: the backend grew by $((hwm3 - hwm1)) kB while explaining 1,000,000 rows"
	exit 1
fi
