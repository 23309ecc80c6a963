-- fuzz/recheck.sql: a new backend under other settings compiles the stored (canonical)
-- rule values afresh; they must hit the rows the first session's SQL equivalents chose.
\set ON_ERROR_STOP 1
SET client_min_messages = error;
SET TimeZone = 'Pacific/Chatham';
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'sql_standard';
SET extra_float_digits = -15;
SELECT fz_check('a new session under TimeZone Pacific/Chatham, DateStyle SQL/DMY, IntervalStyle sql_standard');
