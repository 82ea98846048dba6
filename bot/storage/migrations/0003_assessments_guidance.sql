-- Rapid self-assessment results, requests for an adviser, and the questions asked of
-- the guidance library.

-- One row per completed self-assessment. Scores are kept as computed on the day, so a
-- later change to the scoring table does not rewrite a facility's history.
CREATE TABLE assessment_results (
    id             INTEGER PRIMARY KEY,
    facility_id    INTEGER NOT NULL REFERENCES facilities (id),
    draft_id       INTEGER NOT NULL UNIQUE REFERENCES drafts (id),
    form_version   INTEGER NOT NULL,
    sector_code    TEXT NOT NULL,
    overall        INTEGER NOT NULL CHECK (overall BETWEEN 0 AND 100),
    -- {"good_housekeeping": 63, ...}; null for a technique with no question asked
    scores         TEXT NOT NULL,
    -- {"question name": "yes" | "partly" | "no" | "dont_know", ...}
    answers        TEXT NOT NULL,
    -- question names of the biggest opportunities, best first
    opportunities  TEXT NOT NULL,
    completed_by   INTEGER REFERENCES users (id),
    completed_at   TEXT NOT NULL
);
CREATE INDEX assessment_results_facility ON assessment_results (facility_id, completed_at);

-- A manager asked for an SXSH adviser to contact them; the Department follows up.
CREATE TABLE adviser_requests (
    id             INTEGER PRIMARY KEY,
    facility_id    INTEGER NOT NULL REFERENCES facilities (id),
    user_id        INTEGER REFERENCES users (id),
    assessment_id  INTEGER REFERENCES assessment_results (id),
    contact_name   TEXT,
    phone          TEXT,
    requested_at   TEXT NOT NULL,
    handled_at     TEXT
);
CREATE INDEX adviser_requests_open ON adviser_requests (handled_at, requested_at);

-- Every question typed to the library: for "more results" and so the Department sees
-- what managers ask and which questions found nothing (gaps in the guidance).
CREATE TABLE guidance_questions (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    question     TEXT NOT NULL,
    sector_code  TEXT,
    found        INTEGER NOT NULL,
    asked_at     TEXT NOT NULL
);
CREATE INDEX guidance_questions_user ON guidance_questions (user_id, asked_at);
