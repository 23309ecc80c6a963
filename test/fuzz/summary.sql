-- fuzz/summary.sql: one line of counts, then every failure.
\set ON_ERROR_STOP 1
SELECT format('fuzz: %s cases, %s accepted, %s refused (by SQLSTATE class: %s), %s mismatches, %s other failures',
              count(*), count(*) FILTER (WHERE accepted), count(*) FILTER (WHERE NOT accepted),
              (SELECT string_agg(c || ' ' || n, ', ' ORDER BY c)
                 FROM (SELECT left(sqlstate, 2) AS c, count(*) AS n FROM fz_outcome
                        WHERE NOT accepted GROUP BY 1) s),
              (SELECT count(*) FROM fz_failure WHERE kind IN ('mismatch', 'score')),
              (SELECT count(*) FROM fz_failure WHERE kind NOT IN ('mismatch', 'score')))
  FROM fz_outcome WHERE kind <> 'score overflow';
SELECT format('  lead scores whose points overflow (checked to be non-finite): %s', count(*))
  FROM fz_outcome WHERE kind = 'score overflow';
SELECT format('  %s: %s accepted, %s refused', kind, count(*) FILTER (WHERE accepted), count(*) FILTER (WHERE NOT accepted))
  FROM fz_outcome WHERE kind <> 'score overflow' GROUP BY kind ORDER BY kind;
SELECT format('FAILURE %s (case %s): %s', kind, coalesce(case_no::text, '-'), what)
  FROM fz_failure ORDER BY kind, case_no;
