-- The SCIM 2.0 people-data feed: what an identity provider sends that the user and group model
-- does not hold itself, and the tenant's leaver policy.

-- One row per user the feed has described. `deleted` hides a user the feed deleted: the person
-- stays (deactivated, data kept, SPEC 3.1) but no longer exists for the feed.
CREATE TABLE scim_users (
    tenant_id    TEXT NOT NULL,
    user_id      TEXT NOT NULL PRIMARY KEY,
    external_id  TEXT,
    given_name   TEXT,
    family_name  TEXT,
    -- Every address the feed sent (JSON); the user's email is the primary one.
    emails       TEXT,
    deleted      BOOLEAN NOT NULL DEFAULT FALSE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX scim_users_by_external_id ON scim_users (tenant_id, external_id);

CREATE TABLE scim_groups (
    tenant_id    TEXT NOT NULL,
    group_id     TEXT NOT NULL PRIMARY KEY,
    external_id  TEXT,
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX scim_groups_by_external_id ON scim_groups (tenant_id, external_id);

CREATE TABLE scim_settings (
    tenant_id     TEXT NOT NULL PRIMARY KEY REFERENCES tenants (id),
    leaver_policy TEXT NOT NULL
);

-- A resource's ETag is the revision of its last change.
CREATE INDEX changes_by_entity ON changes (tenant_id, entity, entity_id, revision);
