-- scoring: score, explain, classify over tables, views and ROW(...)
CREATE TYPE lead_size AS ENUM ('small', 'medium', 'large');
CREATE TABLE leads (
    id          bigint PRIMARY KEY,
    email       text,
    job_title   varchar(80),
    industry    text,
    employees   integer,
    revenue     numeric(14,2),
    score_bonus double precision,
    country     text,
    budget      boolean,
    created     date,
    seen_at     timestamptz,
    big_id      bigint,
    size        lead_size
);
INSERT INTO leads VALUES
 (1, 'anna@acme.example', 'Head of Engineering', 'manufacturing', 250, 12000000.50, 1.5, 'DE', true, '2026-03-01', '2026-03-01 10:00+00', 10, 'large'),
 (2, 'bob@gmail.com', 'Working Student', 'software', 12, 500000, NULL, 'US', false, '2025-12-24', '2025-12-24 08:00+00', 20, 'small'),
 (3, 'carl@logi.example', 'CTO', 'logistics', 5000, NULL, 0, 'AT', NULL, NULL, NULL, NULL, NULL),
 (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

INSERT INTO leadqual.models (model, lead_table, mql_threshold, fit_threshold)
VALUES ('default', 'leads', 15, 0);
INSERT INTO leadqual.rules (model, name, category, attribute, op, value, points, knockout) VALUES
 ('default', 'head of', 'fit', 'job_title', 'ilike', '%head of%', 10, false),
 ('default', 'cto', 'fit', 'job_title', 'regex', '^(CTO|CEO)$', 10, false),
 ('default', 'target industry', 'fit', 'industry', 'in', '{manufacturing,logistics}', 8, false),
 ('default', 'size band', 'fit', 'employees', 'between', '{50,5000}', 6, false),
 ('default', 'outside delivery area', 'fit', 'country', 'not_in', '{DE,AT,CH}', -5, false),
 ('default', 'free mail', 'fit', 'email', 'iregex', '@(gmail|yahoo)\.', -4, false),
 ('default', 'student', 'fit', 'job_title', 'ilike', '%student%', 0, true),
 ('default', 'budget', 'intent', 'budget', 'eq', 'true', 5, false),
 ('default', 'no email', 'fit', 'email', 'is_null', NULL, -1, false),
 ('default', 'rich', 'fit', 'revenue', 'ge', '1000000', 3, false),
 ('default', 'recent', 'intent', 'created', 'gt', '2026-01-01', 2, false),
 ('default', 'seen', 'intent', 'seen_at', 'lt', '2026-01-01 00:00:00+00', 1, false),
 ('default', 'bonus', 'intent', 'score_bonus', 'gt', '1', 1, false),
 ('default', 'big id', 'intent', 'big_id', 'ne', '10', 1, false),
 ('default', 'large', 'fit', 'size', 'ge', 'medium', 2, false);

SELECT id, leadqual.score(l) AS score, leadqual.classify(l) AS stage FROM leads l ORDER BY id;
SELECT l.id, e.* FROM leads l, leadqual.explain(l) e ORDER BY l.id, e.rule_id;
