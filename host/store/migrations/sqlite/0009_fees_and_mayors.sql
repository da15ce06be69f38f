-- The fee a municipality sets for a kind when it activates a version
-- (NULL: the manifest's default). A rollback brings back the fee of the
-- version's last activation.
ALTER TABLE active_plugins ADD COLUMN fee_yen BIGINT;
ALTER TABLE activations ADD COLUMN fee_yen BIGINT;

-- Who was mayor from when: a certificate names the mayor in office on its
-- issue date (a Japan date, YYYY-MM-DD), so an election is entered ahead
-- of the day and no certificate of the day before names the successor.
-- The municipalities row keeps the mayor it was created with, in force
-- before the first term here.
CREATE TABLE mayor_terms (
    municipality TEXT NOT NULL REFERENCES municipalities (code),
    from_date TEXT NOT NULL,
    title TEXT NOT NULL,
    name TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (municipality, from_date)
);
