
-- ---------------------------------------------------------------------------------------
-- EXECUTE where a function is not meant for everyone (issue 9).  Firing a trigger needs
-- no EXECUTE; CREATE TRIGGER does, so no role but the owner (and superusers) can wire
-- leadqual's trigger functions to a table of its own.  They also refuse, at fire time, a
-- table that leadqual did not set up (triggers made while 1.0 let PUBLIC execute them).
-- ---------------------------------------------------------------------------------------

-- trigger functions: only leadqual's own triggers, on its tables and on attached tables
REVOKE EXECUTE ON FUNCTION
    leadqual.validate_rule(), leadqual.validate_check(), leadqual.validate_model(),
    leadqual.revalidate_model(), leadqual.protect_builtin(), leadqual.protect_attached_model(),
    leadqual.config_changed(), leadqual.event_rules_validate(),
    leadqual.lead_trigger(), leadqual.history_trigger(), leadqual.events_trigger(),
    leadqual.ddl_guard()
FROM PUBLIC;

-- attaching, detaching and erasing history are the owner's (they write owner-only tables);
-- grant them, with the tables' privileges, to a role that should do it
REVOKE EXECUTE ON FUNCTION
    leadqual.attach(regclass, text, name, name, name), leadqual.detach(regclass),
    leadqual.attach_events(regclass, name, text, name, name), leadqual.detach_events(regclass),
    leadqual.forget(regclass, text)
FROM PUBLIC;

-- Still PUBLIC, because they run as the caller on the caller's behalf and change nothing
-- of leadqual's: the scoring functions and aggregates (and their state functions), rescore
-- and rescore_needed (rescore's UPDATE calls it as the caller), funnel and calibrate,
-- find_rule_problems and check_predicate (the rule_problems view, and the DDL guard,
-- which runs as whoever issues DDL), ddl_guard_enabled (the DDL guard), and
-- primary_key_column (funnel and the events trigger, as the caller).
