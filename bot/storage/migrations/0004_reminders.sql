-- Deadline reminders: one row per (user, report year, reminder), claimed before the message
-- is sent and marked after, so each goes out once; and the users who turned reminders off.
CREATE TABLE reminder_deliveries (
    user_id     INTEGER NOT NULL REFERENCES users (id),
    year        INTEGER NOT NULL,
    -- '30d', '14d', … (days before the deadline) or 'digest' (the staff summary).
    reminder    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('claimed', 'sent', 'failed', 'unreachable')),
    attempts    INTEGER NOT NULL DEFAULT 1,
    claimed_at  TEXT NOT NULL,
    sent_at     TEXT,
    PRIMARY KEY (user_id, year, reminder)
);
CREATE INDEX reminder_deliveries_year ON reminder_deliveries (year, reminder, status);

CREATE TABLE reminder_optouts (
    user_id  INTEGER PRIMARY KEY REFERENCES users (id),
    since    TEXT NOT NULL
);
