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
	'== What the rescore moved' '== The event rules of model "inbox"' \
	'== Stages before and after the activity' '== What the activity moved' \
	'== The five most engaged leads' 'last year: its campaign the day after, and today' \
	'requests a demo: in the same transaction it becomes an MQL' '== Its stage history' \
	'== Call the best instead of all 200' '== Points learned from the outcomes' \
	'== Ranking quality (AUC) before and after the fit' '== From ' \
	'== What the candidate would do' '== Who would move, and why' \
	'== The rescore moved exactly the leads the simulation listed' '== The versions of model "inbox"' \
	'== The history of the moved leads names the version' 'because of these rules'; do
	grep -qF -- "$heading" <<<"$out" || { echo "missing from output: $heading"; exit 1; }
done
# computed in the load's own transaction: the same now() for the column and the aggregate
grep -qE '^== Loaded [0-9]+ events for [0-9]+ leads; engagement column = leadqual.engagement of their events: t$' <<<"$out" || {
	echo "the events trigger's engagement column differs from the aggregate after the load"
	exit 1
}
# the promotion's rescore moved exactly the leads the simulation listed, to the same stages
grep -A3 -F -- '== The rescore moved exactly the leads the simulation listed' <<<"$out" \
	| grep -qE '^ *([1-9][0-9]*) \| +\1$' || {
	echo "the rescore after the promotion did not move what the simulation listed"
	exit 1
}
# (promote's NOTICE is part of the demo; psql prefixes it with the script's name and line)
if grep -E '^(ERROR|WARNING):|^psql:' <<<"$out" | grep -qvE '^psql:[^ ]*: NOTICE:'; then
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
SELECT 'the best 50 by choose_threshold are at most 50 MQLs and reach more than a quarter of the buyers',
       t.leads <= 50 AND t.capture > 0.25
FROM leadqual.choose_threshold('default', capacity => 50) t
UNION ALL
SELECT 'fit wrote the draft models: same rules, not attached',
       (SELECT count(*) FROM leadqual.rules WHERE model = 'default_fitted')
         = (SELECT count(*) FROM leadqual.rules WHERE model = 'default')
       AND (SELECT count(*) FROM leadqual.rules WHERE model = 'discovered_fitted') > 5
       AND NOT EXISTS (SELECT FROM leadqual.attachments
                       WHERE model IN ('default_fitted', 'discovered_fitted'))
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
FROM leadqual.stage_history WHERE changed_by = 'nightly rescore'
UNION ALL
SELECT 'the web activity moved nurture leads to mql',
       count(*) FILTER (WHERE old_stage = 'nurture' AND new_stage = 'mql') > 0
FROM leadqual.stage_history WHERE changed_by = 'web tracking'
UNION ALL
SELECT 'explain''s engagement row is the engagement column, and the score adds it',
       count(*) = 200 AND bool_and(eng_rows = 1 AND abs(eng - engagement) < 1e-9
                                   AND abs(explained - score) < 1e-9)
       AND count(*) FILTER (WHERE engagement > 0) > 0 AND count(*) FILTER (WHERE engagement < 0) > 0
FROM (SELECT l.engagement, l.score,
             (SELECT count(*) FROM leadqual.explain(l, 'inbox') e WHERE e.name = 'engagement') AS eng_rows,
             (SELECT sum(e.points) FROM leadqual.explain(l, 'inbox') e WHERE e.name = 'engagement') AS eng,
             (SELECT sum(e.points) FROM leadqual.explain(l, 'inbox') e) AS explained
      FROM fair_inbox l) x
UNION ALL
SELECT 'the promotion''s rescore is recorded under the promoted version, earlier changes under earlier ones',
       count(*) > 0 AND count(DISTINCT h.version) = 1
       AND min(h.version) > (SELECT max(e.version) FROM leadqual.stage_history e
                              WHERE e.lead_table = 'fair_inbox'::regclass
                                AND e.changed_by IN ('fair import', 'nightly rescore'))
       AND (SELECT bool_or(r->>'name' = 'Public procurement')
              FROM leadqual.ruleset_versions v, jsonb_array_elements(v.rules::jsonb->'rules') r
             WHERE v.model = 'inbox' AND v.version = min(h.version))
FROM leadqual.stage_history h WHERE h.changed_by = 'promotion rescore'
UNION ALL
SELECT 'after the promotion and its rescore, simulating the live model finds nothing',
       count(*) = 0 FROM leadqual.simulate('fair_inbox', 'inbox')
       WHERE old_stage IS DISTINCT FROM new_stage
UNION ALL
-- the one recent demo request: it was a nurture lead, the request alone made it an MQL
SELECT 'the demo request made a nurture lead an MQL, and it needed the request',
       count(*) = 1
       AND bool_and(l.stage = 'mql'
           AND EXISTS (SELECT FROM leadqual.stage_history h
                       WHERE h.lead_table = 'fair_inbox'::regclass AND h.lead_id = l.id::text
                         AND h.old_stage = 'nurture' AND h.new_stage = 'mql'
                         AND h.changed_by = 'web: demo request form')
           AND (l.score - l.engagement)
               + (SELECT coalesce(leadqual.engagement(e.event_type, e.occurred_at, 'inbox'), 0)
                  FROM fair_events e WHERE e.lead_id = l.id AND e.id <> d.id)
               < (SELECT mql_threshold FROM leadqual.models WHERE model = 'inbox'))
FROM fair_events d JOIN fair_inbox l ON l.id = d.lead_id
WHERE d.event_type = 'demo_request' AND d.occurred_at > now() - interval '300 days'
UNION ALL
SELECT 'last year''s activity keeps less than 1 % of its points',
       count(*) > 0 AND bool_and(now_points < 0.01 * then_points AND then_points > 0)
FROM (SELECT leadqual.engagement(e.event_type, e.occurred_at, 'inbox') AS now_points,
             leadqual.engagement(e.event_type, e.occurred_at, 'inbox', t.day_after) AS then_points
      FROM fair_events e
      JOIN (SELECT lead_id, max(occurred_at) + interval '1 day' AS day_after FROM fair_events
            WHERE occurred_at < now() - interval '300 days' GROUP BY lead_id) t USING (lead_id)
      WHERE e.occurred_at < now() - interval '300 days'
      GROUP BY e.lead_id) x;
SQL
)
# Decay moves on between statements, so compare the column with the aggregate at one
# moment: an event type without a rule (0 points) for every lead makes the trigger
# recompute them all at this transaction's now(); rolled back.
checks+=$'\n'$(psql -X -q -At -F ' | ' -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
BEGIN;
INSERT INTO fair_events (lead_id, event_type, occurred_at)
SELECT id, 'page_view', now() - interval '1 hour' FROM fair_inbox;
SELECT 'the engagement column equals leadqual.engagement of the lead''s events',
       count(*) = 200 AND bool_and(abs(l.engagement - coalesce(e.points, 0)) < 1e-6)
       AND count(e.points) > 0
FROM fair_inbox l
LEFT JOIN (SELECT lead_id, leadqual.engagement(event_type, occurred_at, 'inbox') AS points
           FROM fair_events WHERE event_type <> 'page_view' GROUP BY lead_id) e ON e.lead_id = l.id;
ROLLBACK;
SQL
)
echo "$checks"
if grep -qv ' | t$' <<<"$checks"; then
	echo "a check failed"
	exit 1
fi
