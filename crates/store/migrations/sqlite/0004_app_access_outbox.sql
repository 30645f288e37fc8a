-- Learner-app access, invitation settings and the mail outbox. A mail is queued in the same
-- transaction as the change that sends it; a sender delivers it and blanks its body, so login
-- details do not rest in the database after delivery.

CREATE TABLE app_access (
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    until       TEXT,
    PRIMARY KEY (user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE tenant_settings (
    tenant_id            TEXT PRIMARY KEY REFERENCES tenants (id),
    invitation_subject   TEXT,
    invitation_body      TEXT,
    invite_on_app_access BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE outbox (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    recipient   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER
);
CREATE INDEX outbox_pending ON outbox (sent_at, created_at);
