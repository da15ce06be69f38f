-- A plugin's component (up to megabytes) moves to a table of its own. In the
-- `plugins` row it came before `size`, `uploaded_by` and `uploaded_at`, so
-- reading those (every issuance reads the active plugin's row) walked the
-- component's whole chain of overflow pages on SQLite. Only loading a plugin
-- that is not yet compiled reads the component.
CREATE TABLE plugin_components (
    municipality TEXT NOT NULL,
    hash TEXT NOT NULL,
    component BYTEA NOT NULL,
    PRIMARY KEY (municipality, hash),
    FOREIGN KEY (municipality, hash) REFERENCES plugins (municipality, hash)
);
INSERT INTO plugin_components (municipality, hash, component) SELECT municipality, hash, component FROM plugins;
ALTER TABLE plugins DROP COLUMN component;

-- Register order: paging through a municipality's register and numbering a
-- new resident (`MAX(position)`) seek here instead of visiting every
-- resident of the municipality.
CREATE INDEX residents_by_position ON residents (municipality, position);

-- A resident's cards. Updating a resident (every import upserts) checks the
-- cards that refer to it: without this index SQLite planned a walk through
-- every card of every municipality for it.
CREATE INDEX cards_by_resident ON cards (municipality, resident);
