-- patterns: literal LIKE and regex patterns take a byte-search fast path; every
-- pattern here must agree with SQL's own ~~ ~~* ~ ~* on every value
CREATE TABLE pat_leads (id int PRIMARY KEY, t text, c char(8));
INSERT INTO pat_leads VALUES
 (1, 'Head of Engineering', 'ab'), (2, 'head of sales', 'AB'), (3, 'HEAD OF', 'abc  '),
 (4, 'Engineer', 'xab'), (5, 'anna@gmail.com', 'a'), (6, 'bob@GMAIL.com', NULL),
 (7, 'x@yahoo.de', 'b'), (8, 'x@yahooXde', 'c'), (9, '', 'd'), (10, NULL, 'e'),
 (11, 'Intern', 'f'), (12, 'Werkstudentin', 'g'), (13, 'İSTANBUL office', 'h'),
 (14, 'Kelvin K sign', 'i'), (15, 'Größe', 'j'), (16, 'a%b_c\d', 'k'),
 (17, 'studentstudent', 'l'), (18, 'abc', 'm'), (19, 'xabc', 'n'), (20, 'abcx', 'o'),
 -- literals sharing their first byte: found at a later occurrence of it, or at none
 (21, 'a@gm@gmx.net', 'p'), (22, 'x@web.de', 'q'), (23, '@', 'r'), (24, 'x@webde', 's'),
 (25, 'a@@gmail.', 't'), (26, 'ax', 'u'), (27, 'xa', 'v'),
 -- up to 256 bytes one pass finds several literals; longer values are searched per literal
 (28, repeat('x', 300) || ' HEAD OF Größe Student x@gmail.com abc', 'w'),
 (29, repeat('é', 200) || 'Intern abc', 'x'), (30, repeat('y', 249) || 'head of', 'y'), (31, repeat('y', 250) || 'head of', 'z');
CREATE TABLE pats (op text, pattern text);
INSERT INTO pats VALUES
 ('like', '%head of%'), ('like', 'Head%'), ('like', '%ing'), ('like', 'abc'), ('like', '%'),
 ('like', '%%'), ('like', ''), ('like', 'a\%b%'), ('like', '%b\_c%'), ('like', 'a_c'),
 ('ilike', '%head of%'), ('ilike', 'HEAD%'), ('ilike', '%GMAIL%'), ('ilike', '%größe%'),
 ('ilike', '%istanbul%'), ('ilike', '%k sign'), ('ilike', 'ABC'),
 ('regex', '@(gmail|yahoo)\.'), ('regex', '^abc'), ('regex', 'abc$'), ('regex', '^abc$'),
 ('regex', 'intern|student'), ('regex', '(?:Head|head) of'), ('regex', 'a.c'),
 ('regex', '@(gmail|GMAIL)\.com$'), ('regex', '(a|x)(b|y)c'), ('regex', 'ö'), ('regex', '\mIntern\M'),
 ('iregex', '(intern|student)'), ('iregex', '^head'), ('iregex', 'GMAIL\.COM$'),
 ('iregex', 'istanbul'), ('iregex', 'k sign'), ('iregex', 'größe'), ('iregex', 'abc|xyz'),
 ('regex', '@(gmail|gmx|web)\.'), ('regex', 'ab|ax'), ('regex', 'x(ab|b|)'), ('iregex', '@(GMX|web)\.');
INSERT INTO leadqual.models (model, lead_table) VALUES ('pat', 'pat_leads');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
SELECT 'pat', format('%s %s %s', a.col, p.op, p.pattern), a.col, p.op, p.pattern, 1
  FROM pats p CROSS JOIN (VALUES ('t'), ('c')) a(col);
-- mismatches between leadqual and SQL, per rule (none expected)
SELECT r.name, l.id
  FROM pat_leads l CROSS JOIN leadqual.rules r
 WHERE r.model = 'pat'
   AND (EXISTS (SELECT FROM leadqual.explain(l, 'pat') e WHERE e.rule_id = r.rule_id))
       IS DISTINCT FROM
       coalesce(CASE r.op
                  WHEN 'like'   THEN CASE r.attribute WHEN 't' THEN l.t ~~  r.value ELSE l.c ~~  r.value END
                  WHEN 'ilike'  THEN CASE r.attribute WHEN 't' THEN l.t ~~* r.value ELSE l.c ~~* r.value END
                  WHEN 'regex'  THEN CASE r.attribute WHEN 't' THEN l.t ~   r.value ELSE l.c ~   r.value END
                  WHEN 'iregex' THEN CASE r.attribute WHEN 't' THEN l.t ~*  r.value ELSE l.c ~*  r.value END
                END, false)
 ORDER BY r.name COLLATE "C", l.id;
-- how many (rule, lead) pairs match at all: the comparison above is not vacuous
SELECT count(*) AS matches FROM pat_leads l, leadqual.explain(l, 'pat') e;
