-- Plugins compiled to native code, per host build, so that a restart or
-- another host does not compile again. Each artifact carries a MAC under a
-- key outside the database: a host only runs native code it can prove a kofu
-- host produced.
CREATE TABLE compiled_plugins (
    hash TEXT NOT NULL,
    engine TEXT NOT NULL,
    artifact BYTEA NOT NULL,
    mac TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (hash, engine)
);
