-- Named teams (seed 003): a learner manager's cohorts. The engine knows each as a `team` object
-- with its creator; the name and the members live here.
CREATE TABLE teams (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    name        TEXT NOT NULL,
    created_by  TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE INDEX teams_by_name ON teams (tenant_id, name, id);

CREATE TABLE team_members (
    tenant_id  TEXT NOT NULL,
    team_id    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    added_at   BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id),
    FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX team_members_by_user ON team_members (user_id);

-- Where a course is deployed (seed 001): to a group, whose members are enrolled (and whoever
-- joins it later), or to a catalogue, where learners may enroll themselves. `target` is the
-- engine's name of the group or catalogue (`group:<id>`, `catalogue:<id>`).
CREATE TABLE course_deployments (
    tenant_id    TEXT NOT NULL,
    course_id    TEXT NOT NULL,
    target       TEXT NOT NULL,
    deployed_at  BIGINT NOT NULL,
    PRIMARY KEY (course_id, target),
    FOREIGN KEY (tenant_id, course_id) REFERENCES courses (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX course_deployments_by_target ON course_deployments (tenant_id, target);

-- Invitations to a group (seed 004): an email address, the roles that apply in the group when
-- the invitee signs up, and a link whose secret is kept only as a SHA-256.
CREATE TABLE group_invitations (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    group_id     TEXT NOT NULL,
    email        TEXT NOT NULL,
    roles        TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    invited_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    accepted_at  BIGINT,
    user_id      TEXT,
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX group_invitations_by_group ON group_invitations (tenant_id, group_id, created_at);
