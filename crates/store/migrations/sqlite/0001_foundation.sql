-- Tenants, users, groups, line management, credentials, tokens and the change log.
-- Every tenant-owned table carries tenant_id, and references between tenant-owned rows are
-- composite (tenant_id, id) foreign keys: the database itself refuses a cross-tenant link.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    preset      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE groups (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    parent_id   TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES groups (tenant_id, id)
);
CREATE INDEX groups_by_tenant ON groups (tenant_id, id);

CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    username         TEXT NOT NULL,
    email            TEXT,
    display_name     TEXT NOT NULL,
    labels           TEXT NOT NULL DEFAULT '{}',
    status           TEXT NOT NULL,
    expires_on       TEXT,
    primary_group_id TEXT,
    superadmin       BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash    TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (tenant_id, id),
    CONSTRAINT users_username_key UNIQUE (tenant_id, username),
    FOREIGN KEY (tenant_id, primary_group_id) REFERENCES groups (tenant_id, id)
);
CREATE UNIQUE INDEX users_email_key ON users (tenant_id, email) WHERE email IS NOT NULL;

CREATE TABLE group_members (
    tenant_id  TEXT NOT NULL,
    group_id   TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    PRIMARY KEY (group_id, user_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX group_members_by_user ON group_members (user_id);

CREATE TABLE managers (
    tenant_id   TEXT NOT NULL,
    manager_id  TEXT NOT NULL,
    managee_id  TEXT NOT NULL,
    source      TEXT NOT NULL,
    PRIMARY KEY (manager_id, managee_id),
    FOREIGN KEY (tenant_id, manager_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, managee_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX managers_by_managee ON managers (managee_id);

-- Login sessions and API tokens. Only a SHA-256 of the secret is kept. Operator tokens (no
-- tenant, no user) manage tenants and nothing inside them.
CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT REFERENCES tenants (id),
    user_id     TEXT,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    csrf_hash   TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

-- The change log: one row per change, in commit order. It is both the audit log (who, what,
-- before, after, when) and the feed that keeps each server's in-memory read model current.
CREATE TABLE changes (
    revision    INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    before      TEXT,
    after       TEXT,
    at          INTEGER NOT NULL
);
CREATE INDEX changes_by_tenant ON changes (tenant_id, revision);
