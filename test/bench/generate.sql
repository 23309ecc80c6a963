-- test/bench/generate.sql — deterministic benchmark leads.
--   psql -v n=1000000 -f test/bench/generate.sql
-- Every value is a function of the lead's id (hashint8extended with a seed per column),
-- so any size, any run and a parallel plan give the same rows.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- (a rerun in the same database: the DDL guard refuses to drop a table rules still use)
DELETE FROM leadqual.models WHERE lead_table = pg_catalog.to_regclass('public.bench_leads');
DROP TABLE IF EXISTS public.bench_leads CASCADE;
DROP FUNCTION IF EXISTS public.bench_u(bigint, int);
DROP FUNCTION IF EXISTS public.bench_company(int);

-- A uniform number in [0, 1) for (id, seed).
CREATE FUNCTION public.bench_u(id bigint, seed int) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
-- (OPERATOR() syntax gives every operator one precedence: the parentheses matter)
RETURN (pg_catalog.hashint8extended(id, seed) OPERATOR(pg_catalog.&) 2147483647)::float8
       OPERATOR(pg_catalog./) 2147483648.0;

-- Company number → name ("Nordwind Logistics", "Apex Data 17"); rules.sql uses it too.
CREATE FUNCTION public.bench_company(c int) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN (ARRAY['Nordwind', 'Apex', 'Blue Harbor', 'Cobalt', 'Delta', 'Evergreen', 'Falcon',
              'Granite', 'Helix', 'Ionic', 'Juniper', 'Kestrel', 'Lumen', 'Meridian', 'Nimbus',
              'Orion', 'Pioneer', 'Quantum', 'Redwood', 'Summit'])[1 OPERATOR(pg_catalog.+) (c OPERATOR(pg_catalog.%) 20)]
    OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||)
    (ARRAY['Logistics', 'Data', 'Systems', 'Analytics', 'Software', 'Bank', 'Health',
           'Retail', 'Energy', 'Labs', 'Foods', 'Motors', 'Media', 'Consulting', 'Robotics',
           'Insurance', 'Telecom', 'Capital', 'Pharma', 'Works'])[1 OPERATOR(pg_catalog.+) ((c OPERATOR(pg_catalog./) 20) OPERATOR(pg_catalog.%) 20)]
    OPERATOR(pg_catalog.||)
    CASE WHEN c OPERATOR(pg_catalog.<) 400 THEN ''
         ELSE ' ' OPERATOR(pg_catalog.||) (c OPERATOR(pg_catalog./) 400)::text END;

CREATE TABLE public.bench_leads (
    id                  bigint PRIMARY KEY,
    email               text,
    company             text,
    job_title           text,
    industry            text,
    employees           int,
    annual_revenue      numeric(14,2),
    country             text,
    source              text,
    budget_confirmed    boolean,
    authority_confirmed boolean,
    need_confirmed      boolean,
    timeline_confirmed  boolean,
    timeline_days       int,
    created_at          timestamptz,
    converted           boolean
);

-- u1..u16 are independent uniforms per lead. Weighted choices repeat array entries.
INSERT INTO public.bench_leads
SELECT id, email, company, job_title, industry, employees, annual_revenue, country, source,
       budget, authority, need, tl_confirmed, timeline_days, created_at,
       -- conversion follows fit (title, size, country, BANT) with noise: about 1 in 5
       u16 < 0.02 + 0.6 * ((CASE WHEN job_title ~* '(head of|director|vp|chief|cto|ceo|cfo)' THEN 0.30 ELSE 0 END)
             + (CASE WHEN employees BETWEEN 50 AND 5000 THEN 0.15 ELSE 0 END)
             + (CASE WHEN country IN ('DE', 'AT', 'CH', 'NL', 'GB', 'US') THEN 0.10 ELSE 0 END)
             + (CASE WHEN budget THEN 0.15 ELSE 0 END)
             + (CASE WHEN need THEN 0.10 ELSE 0 END)
             + (CASE WHEN email ~ '@(gmail|yahoo|hotmail|gmx|web|outlook)\.' THEN -0.15 ELSE 0 END)
             + (CASE WHEN job_title ~* '(intern|student)' THEN -0.5 ELSE 0 END))
FROM (
    SELECT g AS id,
           -- ~20 % free-mail; company domains include look-alikes ("webfactory.io")
           lower(replace(first, ' ', '')) || '.' || lower(last) || (g % 97)::text || '@' ||
           CASE WHEN u1 < 0.20
                THEN (ARRAY['gmail.com', 'gmail.com', 'gmail.com', 'yahoo.com', 'hotmail.com',
                            'gmx.de', 'gmx.de', 'web.de', 'outlook.com', 'outlook.com'])[1 + (u1 * 50)::int % 10]
                ELSE lower(replace(company, ' ', '-')) ||
                     (ARRAY['.com', '.de', '.io', '.co.uk', '.fr', '.webfactory.io', '.net'])[1 + (u2 * 7)::int % 7]
           END AS email,
           company, job_title, industry, employees,
           CASE WHEN employees IS NULL OR u3 < 0.08 THEN NULL
                ELSE round((employees * (40000 + u3 * 260000))::numeric, 2)::numeric(14,2)
           END AS annual_revenue,
           country, source,
           CASE WHEN u4 < 0.10 THEN NULL ELSE u4 < 0.35 END AS budget,
           CASE WHEN u5 < 0.10 THEN NULL ELSE u5 < 0.40 END AS authority,
           CASE WHEN u6 < 0.10 THEN NULL ELSE u6 < 0.50 END AS need,
           CASE WHEN u7 < 0.10 THEN NULL ELSE u7 < 0.30 END AS tl_confirmed,
           CASE WHEN u8 < 0.30 THEN NULL ELSE 7 + (u8 * 1000)::int % 359 END AS timeline_days,
           -- 2025-01-01 .. 2026-06-30, to the second
           timestamptz '2025-01-01 00:00:00+00' + ((u9 * 546 * 86400)::int) * interval '1 second' AS created_at,
           u16
    FROM (
        SELECT g, u1, u2, u3, u4, u5, u6, u7, u8, u9, u16,
               bench_company(CASE WHEN u10 < 0.5 THEN (u11 * 2000)::int ELSE (u11 * 20000)::int END) AS company,
               (ARRAY['Anna', 'Ben', 'Chen', 'Dana', 'Emil', 'Fatma', 'Greta', 'Hugo', 'Ines',
                      'Jonas', 'Kai', 'Lena', 'Mia Sophie', 'Noah', 'Omar', 'Paula'])[1 + (u12 * 16)::int % 16] AS first,
               (ARRAY['Schmidt', 'Miller', 'Novak', 'Rossi', 'Dubois', 'Jansen', 'Berg', 'Kowalski',
                      'Garcia', 'Smith', 'Weber', 'Nguyen', 'Larsen', 'Murphy'])[1 + (u13 * 14)::int % 14] AS last,
               CASE WHEN u14 < 0.03 THEN NULL ELSE
               (ARRAY['Head of Engineering', 'Head of Marketing', 'head of IT', 'Head Of Sales Operations',
                      'VP Engineering', 'VP of Sales', 'SVP Marketing', 'Director of Operations',
                      'IT Director', 'Marketing Director', 'Managing Director',
                      'CTO', 'CEO', 'CFO', 'Chief Revenue Officer', 'Chief Data Officer',
                      'Software Engineer', 'Software Engineer', 'Senior Software Engineer', 'Data Analyst',
                      'Marketing Manager', 'Marketing Manager', 'Sales Manager', 'Account Executive',
                      'Project Manager', 'Product Manager', 'Consultant', 'Office Manager',
                      'Operations Manager', 'DevOps Engineer', 'Procurement Specialist', 'Buyer',
                      'Intern', 'Marketing Intern', 'Student', 'Working Student', 'Internal Auditor',
                      'Founder', 'Owner', 'Team Lead'])[1 + (u14 * 4000)::int % 40] END AS job_title,
               CASE WHEN u15 < 0.04 THEN NULL ELSE
               (ARRAY['Software', 'Software', 'Software', 'Financial Services', 'Financial Services',
                      'Manufacturing', 'Manufacturing', 'Manufacturing', 'Healthcare', 'Healthcare',
                      'Retail', 'Retail', 'Education', 'Logistics', 'Logistics',
                      'Telecommunications', 'Energy', 'Public Sector', 'Media', 'Media'])[1 + (u15 * 2000)::int % 20] END AS industry,
               -- log-uniform 1 .. ~60,000 employees; 5 % unknown
               CASE WHEN u3 > 0.95 THEN NULL ELSE floor(exp(u10 * 11.0))::int END AS employees,
               (ARRAY['DE', 'DE', 'DE', 'DE', 'US', 'US', 'US', 'GB', 'GB', 'FR', 'FR', 'NL', 'NL',
                      'AT', 'AT', 'CH', 'CH', 'SE', 'ES', 'IT', 'IT', 'PL', 'BE', 'DK', 'NO', 'FI',
                      'IE', 'CA', 'AU', 'IN', 'IN', 'BR', 'JP', 'SG', 'ZA', 'MX'])[1 + (u2 * 3600)::int % 36] AS country,
               (ARRAY['organic', 'organic', 'paid_search', 'paid_search', 'webinar', 'referral',
                      'trade_fair', 'cold_outbound', 'partner', 'content_download'])[1 + (u1 * 1000)::int % 10] AS source
        FROM (
            SELECT g,
                   bench_u(g, 1) AS u1, bench_u(g, 2) AS u2, bench_u(g, 3) AS u3,
                   bench_u(g, 4) AS u4, bench_u(g, 5) AS u5, bench_u(g, 6) AS u6,
                   bench_u(g, 7) AS u7, bench_u(g, 8) AS u8, bench_u(g, 9) AS u9,
                   bench_u(g, 10) AS u10, bench_u(g, 11) AS u11, bench_u(g, 12) AS u12,
                   bench_u(g, 13) AS u13, bench_u(g, 14) AS u14, bench_u(g, 15) AS u15,
                   bench_u(g, 16) AS u16
            FROM pg_catalog.generate_series(1, :n) AS g
            OFFSET 0
        ) AS u
    ) AS named
) AS lead;

-- Frozen and analysed, so no measurement pays for hint bits or guesses the row count.
VACUUM (FREEZE, ANALYZE) public.bench_leads;
