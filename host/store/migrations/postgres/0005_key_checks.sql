-- A check value per secret kept outside the database (the PIN key): a MAC of
-- a fixed text under the key. The first host to start records it; a host
-- whose key gives another value refuses to start, instead of rejecting every
-- resident's PIN. It reveals nothing about the key.
CREATE TABLE key_checks (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
