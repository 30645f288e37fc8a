-- Courses with their materials, enrollments with learning progress, and learning plans.
-- Each write also carries its engine change in the change log (courses and materials as
-- learning objects, enrollment statuses as vetoes).

CREATE TABLE courses (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    title       TEXT NOT NULL,
    course_type TEXT NOT NULL,
    published   BOOLEAN NOT NULL DEFAULT FALSE,
    capacity    BIGINT,
    policy      TEXT NOT NULL,
    group_id    TEXT,
    created_by  TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id)
);

CREATE TABLE materials (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    course_id   TEXT NOT NULL,
    title       TEXT NOT NULL,
    position    BIGINT NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, course_id) REFERENCES courses (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX materials_by_course ON materials (course_id, position);

CREATE TABLE enrollments (
    tenant_id   TEXT NOT NULL,
    course_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    status      TEXT NOT NULL,
    enrolled_at BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (course_id, user_id),
    FOREIGN KEY (tenant_id, course_id) REFERENCES courses (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX enrollments_by_user ON enrollments (user_id);

CREATE TABLE material_progress (
    tenant_id    TEXT NOT NULL,
    material_id  TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    completed_at BIGINT NOT NULL,
    PRIMARY KEY (material_id, user_id),
    FOREIGN KEY (tenant_id, material_id) REFERENCES materials (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE learning_plans (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    title       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, id)
);

CREATE TABLE learning_plan_courses (
    tenant_id   TEXT NOT NULL,
    plan_id     TEXT NOT NULL,
    course_id   TEXT NOT NULL,
    position    BIGINT NOT NULL,
    PRIMARY KEY (plan_id, course_id),
    FOREIGN KEY (tenant_id, plan_id) REFERENCES learning_plans (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, course_id) REFERENCES courses (tenant_id, id) ON DELETE CASCADE
);
