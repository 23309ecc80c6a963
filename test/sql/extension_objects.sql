-- Every member of extension leadqual, described so that two databases can be diffed:
-- its identity, and for functions the definition, volatility, parallel safety, strictness,
-- security and settings (for aggregates their support functions, volatility and parallel
-- safety); for tables the columns, constraints, triggers and policies; grants of
-- everything.  OIDs never appear.
WITH m AS (
    SELECT d.classid, d.objid, pg_catalog.pg_describe_object(d.classid, d.objid, 0) AS obj
      FROM pg_catalog.pg_depend d
     WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
       AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'leadqual')
)
SELECT m.obj, x.detail
  FROM m, LATERAL (
    SELECT pg_catalog.concat_ws(' | ', pg_catalog.pg_get_functiondef(p.oid),
                                p.provolatile, p.proparallel, p.proisstrict, p.prosecdef,
                                p.proconfig::text, p.proacl::text, p.prorows, p.procost)
      FROM pg_catalog.pg_proc p
     WHERE m.classid = 'pg_catalog.pg_proc'::regclass AND p.oid = m.objid AND p.prokind <> 'a'
    UNION ALL
    SELECT pg_catalog.concat_ws(' | ', a.aggtransfn::regproc, a.aggfinalfn::regproc,
                                a.aggcombinefn::regproc, a.aggserialfn::regproc,
                                a.aggdeserialfn::regproc, a.aggtranstype::regtype,
                                a.agginitval, p.provolatile, p.proparallel, p.proacl::text,
                                pg_catalog.pg_get_function_arguments(p.oid))
      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_aggregate a ON a.aggfnoid = p.oid
     WHERE m.classid = 'pg_catalog.pg_proc'::regclass AND p.oid = m.objid
    UNION ALL
    SELECT pg_catalog.concat_ws(' | ', c.relkind, c.relacl::text, c.relrowsecurity,
               (SELECT pg_catalog.string_agg(pg_catalog.format('%s %s %s %s %s', a.attname,
                        pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
                        pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), a.attidentity), ', ' ORDER BY a.attnum)
                  FROM pg_catalog.pg_attribute a
                  LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
               (SELECT pg_catalog.string_agg(pg_catalog.format('%s: %s', co.conname,
                        pg_catalog.pg_get_constraintdef(co.oid)), ', ' ORDER BY co.conname)
                  FROM pg_catalog.pg_constraint co WHERE co.conrelid = c.oid),
               (SELECT pg_catalog.string_agg(pg_catalog.format('%s %s', t.tgenabled,
                        pg_catalog.pg_get_triggerdef(t.oid)), ', ' ORDER BY t.tgname)
                  FROM pg_catalog.pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal),
               (SELECT pg_catalog.string_agg(pg_catalog.pg_get_indexdef(i.indexrelid), ', '
                        ORDER BY pg_catalog.pg_get_indexdef(i.indexrelid))
                  FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid),
               CASE WHEN c.relkind = 'v' THEN pg_catalog.pg_get_viewdef(c.oid) END)
      FROM pg_catalog.pg_class c
     WHERE m.classid = 'pg_catalog.pg_class'::regclass AND c.oid = m.objid
    UNION ALL
    SELECT pg_catalog.concat_ws(' | ', t.typtype, t.typinput::regproc, t.typoutput::regproc,
               t.typreceive::regproc, t.typsend::regproc, t.typlen, t.typalign, t.typstorage,
               t.typacl::text,
               (SELECT pg_catalog.string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                  FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid))
      FROM pg_catalog.pg_type t
     WHERE m.classid = 'pg_catalog.pg_type'::regclass AND t.oid = m.objid
    UNION ALL
    SELECT pg_catalog.concat_ws(' | ', e.evtevent, e.evtfoid::regproc, e.evtenabled, e.evttags::text)
      FROM pg_catalog.pg_event_trigger e
     WHERE m.classid = 'pg_catalog.pg_event_trigger'::regclass AND e.oid = m.objid
    UNION ALL
    SELECT pg_catalog.concat_ws(' | ', n.nspacl::text)
      FROM pg_catalog.pg_namespace n
     WHERE m.classid = 'pg_catalog.pg_namespace'::regclass AND n.oid = m.objid
    UNION ALL
    SELECT '' WHERE m.classid NOT IN ('pg_catalog.pg_proc'::regclass, 'pg_catalog.pg_class'::regclass,
                                      'pg_catalog.pg_type'::regclass, 'pg_catalog.pg_event_trigger'::regclass,
                                      'pg_catalog.pg_namespace'::regclass)
  ) x(detail)
 ORDER BY m.obj COLLATE "C", x.detail COLLATE "C";
-- the extension's configuration: which tables pg_dump keeps, with which filter
SELECT 'config', c.relname, e.extcondition[i]
  FROM pg_catalog.pg_extension e, pg_catalog.generate_subscripts(e.extconfig, 1) i
  JOIN pg_catalog.pg_class c ON true
 WHERE e.extname = 'leadqual' AND c.oid = e.extconfig[i]
 ORDER BY c.relname COLLATE "C";
-- the rows the extension ships
SELECT 'shipped', framework, criterion, description FROM leadqual.criteria WHERE builtin
 ORDER BY framework COLLATE "C", criterion COLLATE "C";
