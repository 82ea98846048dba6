-- The register, chat users, invitations, processed updates, drafts and sessions.
CREATE TABLE facilities (
    id              INTEGER PRIMARY KEY,
    code            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    tax_code        TEXT,
    commune_code    TEXT NOT NULL,
    former_district TEXT,
    sector_code     TEXT NOT NULL,
    size_class      TEXT NOT NULL CHECK (size_class IN ('micro', 'small', 'medium', 'large')),
    address         TEXT,
    phone           TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX facilities_commune ON facilities (commune_code);
CREATE INDEX facilities_sector ON facilities (sector_code);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    channel       TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    chat_id       TEXT NOT NULL,
    display_name  TEXT,
    language      TEXT NOT NULL DEFAULT 'vi' CHECK (language IN ('vi', 'en')),
    facility_id   INTEGER REFERENCES facilities (id),
    linked_at     TEXT,
    reachable     INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    UNIQUE (channel, external_id)
);
CREATE INDEX users_facility ON users (facility_id);

CREATE TABLE invitations (
    id           INTEGER PRIMARY KEY,
    facility_id  INTEGER NOT NULL REFERENCES facilities (id),
    code_hash    TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT,
    used_by      INTEGER REFERENCES users (id)
);

CREATE TABLE invitation_failures (
    user_id  INTEGER NOT NULL REFERENCES users (id),
    at       TEXT NOT NULL
);
CREATE INDEX invitation_failures_user ON invitation_failures (user_id, at);

CREATE TABLE processed_updates (
    key           TEXT PRIMARY KEY,
    processed_at  TEXT NOT NULL
);

CREATE TABLE drafts (
    id            INTEGER PRIMARY KEY,
    facility_id   INTEGER NOT NULL REFERENCES facilities (id),
    form_id       TEXT NOT NULL,
    period        TEXT NOT NULL,
    form_version  INTEGER NOT NULL,
    status        TEXT NOT NULL DEFAULT 'draft',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (facility_id, form_id, period)
);

CREATE TABLE draft_answers (
    draft_id     INTEGER NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    value        TEXT NOT NULL,
    answered_by  INTEGER REFERENCES users (id),
    answered_at  TEXT NOT NULL,
    PRIMARY KEY (draft_id, name)
);

CREATE TABLE sessions (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id),
    form_id     TEXT,
    draft_id    INTEGER REFERENCES drafts (id),
    state       TEXT,
    menu        TEXT,
    updated_at  TEXT NOT NULL
);
