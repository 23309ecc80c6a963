
-- ---------------------------------------------------------------------------------------
-- Citus (issue 10).  On a Citus cluster CREATE EXTENSION reaches every node, but the rows
-- of leadqual's configuration tables stay on the coordinator: the triggers of a
-- distributed table fire on its shards, on nodes without models, rules or attachments.
-- Attaching a Citus table is refused with an error that says what to do instead (a
-- distributed UPDATE that carries the rule set as a value); where Citus is not installed
-- the trigger does nothing.  Found by catalog name at run time: no dependency on Citus.
-- ---------------------------------------------------------------------------------------
CREATE FUNCTION leadqual.refuse_citus_attach() RETURNS trigger
    AS 'MODULE_PATHNAME', 'leadqual_refuse_citus_attach' LANGUAGE C;
REVOKE EXECUTE ON FUNCTION leadqual.refuse_citus_attach() FROM PUBLIC;
CREATE TRIGGER refuse_citus_attach BEFORE INSERT OR UPDATE ON leadqual.attachments
    FOR EACH ROW EXECUTE FUNCTION leadqual.refuse_citus_attach();
CREATE TRIGGER refuse_citus_attach BEFORE INSERT OR UPDATE ON leadqual.event_attachments
    FOR EACH ROW EXECUTE FUNCTION leadqual.refuse_citus_attach();
