#!/usr/bin/env bash
# The README's first command must keep working: runs the trade-fair demo in its own
# database and checks that its output and the scores behind it make sense.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
db=leadqual_demo_check
export PGOPTIONS="-c client_min_messages=warning"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db"
trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db"' EXIT

out=$(LEADQUAL_DEMO_DB=$db bash "$here/test/demo/run.sh" 2>&1) || {
	echo "$out"
	echo "demo failed"
	exit 1
}
echo "$out"
for heading in '== Loaded 200 contacts' '== The rules of model' '== Where the fair leads land' \
	'== The ten best leads' '== Conversion by industry' '== The inbox after COPY' \
	'== The follow-ups' '== Their stage history' '== Stages before and after' \
	'== What the rescore moved'; do
	grep -qF -- "$heading" <<<"$out" || { echo "missing from output: $heading"; exit 1; }
done
if grep -qE '^(ERROR|WARNING):|^psql:' <<<"$out"; then
	echo "the demo printed errors or warnings"
	exit 1
fi

# Each check is one row "name | ok"; every ok must be t.
checks=$(psql -X -At -F ' | ' -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
WITH s AS (
    SELECT l.*, leadqual.score(l) AS sc, leadqual.classify(l) AS st,
           (SELECT coalesce(sum(e.points), 0) FROM leadqual.explain(l) e) AS explained,
           (SELECT coalesce(sum(e.points) FILTER (WHERE e.category = 'fit'), 0)
            FROM leadqual.explain(l) e) AS fit,
           (SELECT bool_or(e.knockout) FROM leadqual.explain(l) e) AS ko
    FROM fair_leads l
), m AS (
    SELECT mql_threshold, fit_threshold FROM leadqual.models WHERE model = 'default'
)
SELECT 'score is the sum of explained points', bool_and(sc = explained) FROM s
UNION ALL
SELECT 'every stage of the demo occurs',
       count(*) FILTER (WHERE st = 'disqualified') > 0 AND count(*) FILTER (WHERE st = 'nurture') > 0
       AND count(*) FILTER (WHERE st = 'mql') > 0 FROM s
UNION ALL
SELECT 'mql (or sql) exactly at the threshold unless disqualified',
       bool_and((st IN ('mql', 'sql')) = (sc >= mql_threshold AND st <> 'disqualified'))
FROM s, m
UNION ALL
SELECT 'disqualified exactly on knockout or negative fit',
       bool_and((st = 'disqualified') = (coalesce(ko, false) OR fit < fit_threshold))
FROM s, m
UNION ALL
SELECT 'students and interns are knocked out, "International" managers are not',
       bool_and((st = 'disqualified') OR job_title !~* '\m(student|intern|werkstudent(in)?|praktikant(in)?)\M')
       AND bool_or(job_title ~* 'international' AND st <> 'disqualified') FROM s
UNION ALL
SELECT 'a NULL country is not outside the delivery area',
       count(*) > 0 AND bool_and(NOT EXISTS (SELECT FROM leadqual.explain(l) e
                                           WHERE e.name = 'Outside delivery area'))
FROM fair_leads l WHERE l.country IS NULL
UNION ALL
SELECT 'converted leads score higher on average',
       avg(sc) FILTER (WHERE converted) > avg(sc) FILTER (WHERE NOT converted) FROM s
UNION ALL
SELECT 'COPY into the inbox scored and staged every contact',
       count(*) = (SELECT count(*) FROM fair_leads) AND count(score) = count(*)
       AND count(stage) = count(*) FROM fair_inbox
UNION ALL
SELECT 'inbox scores are current and unlocked stages follow classify',
       bool_and(score = leadqual.score(l, 'inbox'))
       AND bool_and(stage = leadqual.classify(l, 'inbox') OR stage_locked
                    OR stage IN ('sql', 'won', 'lost'))
FROM fair_inbox l
UNION ALL
SELECT 'one insert history row per contact, the won lead manual and locked',
       (SELECT count(*) FROM leadqual.stage_history
         WHERE lead_table = 'fair_inbox'::regclass AND old_stage IS NULL)
         = (SELECT count(*) FROM fair_inbox)
       AND (SELECT bool_and(stage_locked) AND count(*) = 1 FROM fair_inbox WHERE stage = 'won')
       AND EXISTS (SELECT FROM leadqual.stage_history WHERE new_stage = 'won' AND manual
                   AND changed_by = 'sales: Maria')
UNION ALL
SELECT 'the rule change moved leads, and only from nurture up',
       count(*) > 0 AND bool_and(old_stage = 'nurture' AND new_stage = 'mql')
FROM leadqual.stage_history WHERE changed_by = 'nightly rescore';
SQL
)
echo "$checks"
if grep -qv ' | t$' <<<"$checks"; then
	echo "a check failed"
	exit 1
fi
