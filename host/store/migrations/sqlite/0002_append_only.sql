-- The audit log is append-only: the database itself refuses to change or
-- remove an entry. (Someone with raw write access to the file can still drop
-- these triggers; the hash chain is what makes that visible.)
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
