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

-- A group's confidentiality: public groups are seen across the tenant, and a platform coach
-- reaches their members. Groups are private unless made public.
ALTER TABLE groups ADD COLUMN public BOOLEAN NOT NULL DEFAULT FALSE;
