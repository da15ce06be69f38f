-- Each municipality's chain head: the seq and hash of its newest audit entry.
-- Appending updates this row, so appends for one municipality take its row
-- lock one at a time, on any number of hosts (see store/src/audit.rs). The
-- same lock orders register changes against issuances. Filled from the log
-- for databases that already have entries.
CREATE TABLE audit_heads (
    municipality TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_heads (municipality, seq, hash)
SELECT a.municipality, a.seq, a.hash FROM audit_log a
WHERE a.seq = (SELECT MAX(b.seq) FROM audit_log b WHERE b.municipality = a.municipality);
