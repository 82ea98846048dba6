-- Announcements from the Department to facility managers (seminars, trainings, new
-- guidance), and the managers who turned them off. Written by bot/storage/broadcasts.py.
--
-- broadcasts: one announcement
--   created_by       who wrote it: "telegram:123456" (a staff chat) or "cli:<account>"
--   creator_user_id  users.id of that staff chat, which gets the delivery report; NULL
--                    from the command line (it prints the report)
--   status           composing (waiting for the text in chat), preview (shown with the
--                    number of recipients, waiting for confirmation), confirmed (being
--                    sent or sent), cancelled
--   commune_code, sector_code   who it is for (NULL: no restriction); within the
--                    creator's scope, checked again on confirmation
--   language         only chats in this language ('vi', 'en'); NULL: every chat
--   finished_at      every delivery settled (sent, unreachable or given up) and the
--                    final delivery report written
CREATE TABLE broadcasts (
    id               INTEGER PRIMARY KEY,
    created_by       TEXT NOT NULL,
    creator_user_id  INTEGER REFERENCES users (id),
    created_at       TEXT NOT NULL,
    text             TEXT NOT NULL DEFAULT '',
    commune_code     TEXT,
    sector_code      TEXT,
    language         TEXT,
    status           TEXT NOT NULL
                     CHECK (status IN ('composing', 'preview', 'confirmed', 'cancelled')),
    confirmed_at     TEXT,
    finished_at      TEXT
);
CREATE INDEX broadcasts_status ON broadcasts (status, finished_at);

-- One row per recipient, written when the announcement is confirmed (the recipients are
-- fixed then), claimed before the message is sent and marked after: each goes out once,
-- also across restarts. A claim older than the lease belongs to a run that died.
CREATE TABLE broadcast_deliveries (
    broadcast_id  INTEGER NOT NULL REFERENCES broadcasts (id),
    user_id       INTEGER NOT NULL REFERENCES users (id),
    status        TEXT NOT NULL
                  CHECK (status IN ('pending', 'claimed', 'sent', 'failed', 'unreachable')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    claimed_at    TEXT,
    sent_at       TEXT,
    PRIMARY KEY (broadcast_id, user_id)
);
CREATE INDEX broadcast_deliveries_status ON broadcast_deliveries (status, broadcast_id);

-- Managers who sent /announcements off (deadline reminders are separate).
CREATE TABLE announcement_optouts (
    user_id  INTEGER PRIMARY KEY REFERENCES users (id),
    since    TEXT NOT NULL
);
