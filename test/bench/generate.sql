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

-- best of reps runs of a query, in milliseconds (the analytics and calibrate parts)
DROP FUNCTION IF EXISTS public.bench_ms(text, int);
CREATE FUNCTION public.bench_ms(q text, reps int DEFAULT 3) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    t0   timestamptz;
    best float8 := 'Infinity';
BEGIN
    FOR i IN 1 .. reps LOOP
        t0 := clock_timestamp();
        EXECUTE q;
        best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000);
    END LOOP;
    RETURN best;
END $$;

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

\set lead_rows_table public.bench_leads
\set lead_rows_lo 1
SELECT :n::bigint AS lead_rows_hi \gset
\ir lead_rows.psql

-- Frozen and analysed, so no measurement pays for hint bits or guesses the row count.
VACUUM (FREEZE, ANALYZE) public.bench_leads;
