-- A resident removed from the register: refused at kiosks, left out of
-- households, kept until retention deletes the row with its cards
-- (docs/OPERATIONS.md, "Retention"). A later import brings them back.
ALTER TABLE residents ADD COLUMN removed_at BIGINT;

-- What retention scans: removals by time, issuance inputs by time (the
-- issuance list's index serves that), audit entries by time.
CREATE INDEX residents_removed ON residents (removed_at) WHERE removed_at IS NOT NULL;
CREATE INDEX audit_log_by_time ON audit_log (municipality, at);
