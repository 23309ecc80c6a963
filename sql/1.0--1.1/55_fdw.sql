
-- ---------------------------------------------------------------------------------------
-- postgres_fdw (issue 10): an aggregate is as volatile as the functions it calls.
-- CREATE AGGREGATE has no volatility clause and marks every aggregate IMMUTABLE in
-- pg_proc; planners judge an aggregate by that mark alone.  postgres_fdw ships IMMUTABLE
-- functions of the extensions named in a server's `extensions` option, so it sent the
-- model-name engagement(event_type, occurred_at, model [, as_of]) to the remote nodes,
-- where it read those nodes' event rules (and their now()): a wrong total, silently.
-- Its transition and final functions read leadqual.event_rules (STABLE), so the
-- aggregate is STABLE: postgres_fdw then aggregates on the front node, with the front's
-- rules.  Aggregates whose support functions are all IMMUTABLE (score_quality, and
-- engagement over a leadqual.ruleset value) stay IMMUTABLE and are still pushed down.
-- Nothing else reads an aggregate's provolatile for a plan: parallel and partial
-- aggregation go by proparallel and the combine function.  Computed from the catalog,
-- so it is right for every aggregate defined by the files before this one.
-- ---------------------------------------------------------------------------------------
UPDATE pg_catalog.pg_proc p
   SET provolatile = v.volatility
  FROM (SELECT a.aggfnoid,
               -- 'i' < 's' < 'v': the most volatile support function
               pg_catalog.max(s.provolatile::text)::"char" AS volatility
          FROM pg_catalog.pg_aggregate a
          JOIN pg_catalog.pg_proc s
            ON s.oid IN (a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn,
                         a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn)
          JOIN pg_catalog.pg_proc ap ON ap.oid = a.aggfnoid
         WHERE ap.pronamespace = 'leadqual'::regnamespace
         GROUP BY a.aggfnoid) v
 WHERE p.oid = v.aggfnoid AND p.provolatile <> v.volatility;
