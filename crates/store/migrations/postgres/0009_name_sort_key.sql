-- People sort by name without case or accents, alike on both backends: the key is the domain's
-- (`Name::sort_key`), written with every name, and compared byte by byte ("C", as SQLite does).
-- Rows from before have none until the store keys them as it opens (`SqlStore::key_names`).
ALTER TABLE users ADD COLUMN name_key TEXT COLLATE "C";
CREATE INDEX users_by_name_key ON users (tenant_id, name_key, username);
