-- What an audit entry says about a person (a status before and after, a
-- reason in staff's words), kept apart from the hash chain, which is never
-- erased: the entry holds this text's digest, and retention may delete the
-- text (docs/OPERATIONS.md, "Retention").
CREATE TABLE audit_details (
    municipality TEXT NOT NULL,
    seq BIGINT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (municipality, seq)
);

-- A municipality voids an issued certificate it should not have issued;
-- /v1/verify then says so.
ALTER TABLE issuances ADD COLUMN voided_at BIGINT;
ALTER TABLE issuances ADD COLUMN void_reason TEXT;

-- The municipality's issuance list, newest first, by time.
CREATE INDEX issuances_by_time ON issuances (municipality, created_at, id);

-- Each version's latest dry-run against a test resident: activation needs
-- one that issued, or an audited override.
CREATE TABLE dry_runs (
    municipality TEXT NOT NULL,
    hash TEXT NOT NULL,
    at BIGINT NOT NULL,
    resident TEXT NOT NULL,
    outcome TEXT NOT NULL,
    cause TEXT,
    PRIMARY KEY (municipality, hash)
);
