-- Department staff roles and the audit log of exports, role changes and invitations.
-- A person is named by channel and the channel's user id, so a role can be granted
-- before that person has ever written to the bot.
CREATE TABLE staff (
    id            INTEGER PRIMARY KEY,
    channel       TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'province', 'commune')),
    commune_code  TEXT,
    granted_by    TEXT NOT NULL,
    granted_at    TEXT NOT NULL,
    UNIQUE (channel, external_id),
    CHECK ((role = 'commune') = (commune_code IS NOT NULL))
);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    filter  TEXT,
    detail  TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
