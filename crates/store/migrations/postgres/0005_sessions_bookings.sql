-- Sessions and events of a course with their bookings; per-enrollment visibility in the learner
-- app; e-learning access beside app access; a default length for access given in bulk.

CREATE TABLE sessions (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    course_id         TEXT NOT NULL,
    kind              TEXT NOT NULL,
    title             TEXT NOT NULL,
    starts_at         BIGINT NOT NULL,
    ends_at           BIGINT NOT NULL,
    capacity          BIGINT,
    approval_required BOOLEAN NOT NULL DEFAULT FALSE,
    created_at        BIGINT NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, course_id) REFERENCES courses (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_by_course ON sessions (course_id, starts_at);

CREATE TABLE bookings (
    tenant_id   TEXT NOT NULL,
    session_id  TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    status      TEXT NOT NULL,
    booked_at   BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (session_id, user_id),
    FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX bookings_by_user ON bookings (user_id);

ALTER TABLE enrollments ADD COLUMN show_in_app BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE app_access ADD COLUMN elearning BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tenant_settings ADD COLUMN default_access_days BIGINT;
