
-- ---------------------------------------------------------------------------------------
-- The events trigger in C (issue 13, part 3): the same name, so the triggers attach_events
-- made (and 10_attachments.sql re-made on upgrade) keep working.  It reads the attachment
-- at fire time through the rule cache and keeps three saved plans per events table (lock
-- the leads in key order; read their events; one UPDATE of the engagement column), runs
-- as the user writing the events and carries no SET clause (nothing of a user's runs with
-- the owner's rights, and no per-call configuration switch).  EXECUTE stays revoked from
-- PUBLIC: CREATE OR REPLACE keeps the function's privileges.
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION leadqual.events_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'leadqual_events_trigger' LANGUAGE C;
