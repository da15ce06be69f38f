-- The audit log is append-only: the database itself refuses to change or
-- remove an entry, row by row (UPDATE, DELETE) or wholesale (TRUNCATE, which
-- row triggers would not see). The owner of the table can still drop these
-- triggers; docs/DEPLOYMENT.md says how to run kofu as a role that cannot,
-- and the hash chain makes any change visible either way.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
