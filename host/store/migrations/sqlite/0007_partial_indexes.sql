-- The sweeper's two indexes hold only what it looks for: documents not yet
-- confirmed printed, and sessions not yet closed. Keyed on the state as well,
-- they moved an entry to another page at every change of state (fetched,
-- printed, signed out), on pages of their own, in every write; partial, they
-- are a few pages, shared by every write of a batch, and the last change
-- removes the entry (docs/PERFORMANCE.md, round twelve). The sweeper's
-- queries name the same conditions, so they still seek these indexes
-- (`query_plans.rs`).
DROP INDEX issuances_undelivered;
CREATE INDEX issuances_undelivered ON issuances (created_at) WHERE delivery IN ('ready', 'fetched');

DROP INDEX sessions_open;
CREATE INDEX sessions_open ON sessions (last_seen_at) WHERE closed_at IS NULL;
