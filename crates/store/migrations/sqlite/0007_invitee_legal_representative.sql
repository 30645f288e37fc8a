-- Which person an invitation mail was for, so that their learner-app access can be read with
-- the state of their last invitation (queued or delivered). Other mails name nobody.
ALTER TABLE outbox ADD COLUMN user_id TEXT;
CREATE INDEX outbox_user ON outbox (tenant_id, user_id, created_at);

-- The tenant's legal representative: not a role, the name (and address) on its invoices.
CREATE TABLE legal_representatives (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id),
    name      TEXT NOT NULL,
    address   TEXT
);
