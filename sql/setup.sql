-- setup: the extension installs, its schema and shipped checklists are there
CREATE EXTENSION leadqual;
SELECT extname, extversion, extrelocatable FROM pg_extension WHERE extname = 'leadqual';
SELECT framework, count(*) FROM leadqual.criteria GROUP BY framework ORDER BY framework COLLATE "C";
