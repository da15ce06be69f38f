-- kofu schema, version 1, for PostgreSQL. migrations/sqlite/ holds the same
-- schema for SQLite, version for version; only the types differ (BYTEA here,
-- BLOB there). Timestamps are integer milliseconds since the Unix epoch and
-- booleans are integers on both, so the store's SQL is portable.

CREATE TABLE municipalities (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    mayor_title TEXT NOT NULL,
    mayor_name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE municipality_tokens (
    id TEXT PRIMARY KEY,
    municipality TEXT NOT NULL REFERENCES municipalities (code),
    token_hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE kiosks (
    id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    credential_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE residents (
    municipality TEXT NOT NULL REFERENCES municipalities (code),
    id TEXT NOT NULL,
    household TEXT NOT NULL,
    position BIGINT NOT NULL,
    test BIGINT NOT NULL,
    record TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (municipality, id)
);
CREATE INDEX residents_by_household ON residents (municipality, household, position);

CREATE TABLE cards (
    id TEXT PRIMARY KEY,
    municipality TEXT NOT NULL,
    resident TEXT NOT NULL,
    pin_mac TEXT NOT NULL,
    failed_attempts BIGINT NOT NULL,
    locked_at BIGINT,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    FOREIGN KEY (municipality, resident) REFERENCES residents (municipality, id)
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    kiosk TEXT NOT NULL REFERENCES kiosks (id),
    card TEXT NOT NULL REFERENCES cards (id),
    municipality TEXT NOT NULL,
    resident TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    closed_at BIGINT,
    close_reason TEXT
);
CREATE INDEX sessions_open ON sessions (closed_at, last_seen_at);

CREATE TABLE plugins (
    municipality TEXT NOT NULL REFERENCES municipalities (code),
    hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    version TEXT NOT NULL,
    manifest TEXT NOT NULL,
    component BYTEA NOT NULL,
    size BIGINT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    PRIMARY KEY (municipality, hash),
    UNIQUE (municipality, kind, version)
);

-- The current version per certificate kind; `activations` keeps the history.
CREATE TABLE active_plugins (
    municipality TEXT NOT NULL,
    kind TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (municipality, kind),
    FOREIGN KEY (municipality, hash) REFERENCES plugins (municipality, hash)
);

CREATE TABLE activations (
    municipality TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    hash TEXT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (municipality, seq),
    FOREIGN KEY (municipality, hash) REFERENCES plugins (municipality, hash)
);

CREATE TABLE issuances (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    municipality TEXT NOT NULL,
    kiosk TEXT NOT NULL,
    session TEXT NOT NULL,
    card TEXT NOT NULL,
    subject TEXT NOT NULL,
    kind TEXT NOT NULL,
    options TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_fingerprint TEXT NOT NULL,
    plugin_hash TEXT NOT NULL,
    host_build TEXT NOT NULL,
    issue_date TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason_code TEXT,
    reason TEXT,
    fields_read TEXT NOT NULL,
    document_hash TEXT,
    pdf_hash TEXT,
    verification_code TEXT UNIQUE,
    pages BIGINT,
    fee BIGINT,
    input TEXT NOT NULL,
    pdf BYTEA,
    delivery TEXT NOT NULL,
    timings TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    printed_at BIGINT,
    purged_at BIGINT,
    UNIQUE (kiosk, idempotency_key)
);
CREATE INDEX issuances_undelivered ON issuances (delivery, created_at);

CREATE TABLE audit_log (
    municipality TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    event TEXT NOT NULL,
    issuance TEXT NOT NULL,
    entry TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (municipality, seq)
);
