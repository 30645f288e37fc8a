-- People sort by name without case or accents, alike on both backends: the key is the domain's
-- (`Name::sort_key`), written with every name. Rows from before have none until the store keys
-- them as it opens (`SqlStore::key_names`).
ALTER TABLE users ADD COLUMN name_key TEXT;
CREATE INDEX users_by_name_key ON users (tenant_id, name_key, username);
