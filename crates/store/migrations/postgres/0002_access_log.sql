-- The decision engine's changes, as JSON, on the change-log row of the write that caused them.
-- Every server replays these into its in-memory read model; roles, grants, policies and learning
-- objects live here only.
ALTER TABLE changes ADD COLUMN access TEXT;
