-- Yearly SXSH reports as submitted: one row per revision, never updated or deleted.
--
-- A facility answers the `annual_report` form in a draft (drafts: form_id 'annual_report',
-- period = the reporting year as text, e.g. '2026'; status turns 'submitted' with the
-- first submission). Every submission stores a new revision here: the first is 1, a
-- change after submitting is 2, and so on. The facility's report for a year is its latest
-- revision (view `latest_reports`). Written by bot/storage/reports.py only.
--
-- Conventions: times are UTC ISO-8601 text with microseconds ('2026-12-01T02:00:00.000000+00:00');
-- show them in Vietnam time (UTC+7). Decimal figures are TEXT holding the exact decimal
-- the manager typed or the bot computed ('1250.5', '20', '-3.92'; never an exponent):
-- CAST them to REAL only for display or rough sums. Yes/no columns are INTEGER 0/1.
-- NULL means "not asked", e.g. every figure of a facility that did not apply SXSH.
--
-- report_revisions
--   id                 row id (report_resources and report_measures refer to it)
--   facility_id        facilities.id
--   year               the reporting year (INTEGER, e.g. 2026)
--   revision           1 for the first submission of that facility and year, then 2, 3, …
--   receipt            receipt given to the manager: 'LS-<year>-<6 digits>', the digits
--                      counting every revision received for that year; unique
--   form_id            'annual_report'
--   form_version       version of flows/forms/annual_report.yaml the answers were given on
--   draft_id           drafts.id the answers came from
--   submitted_at       when this revision was received (UTC)
--   submitted_by       users.id of the chat user who pressed Submit
--   late               1 if this revision was received on or after 15 December 00:00
--                      Vietnam time of `year` (the plan wants reports before 15 December).
--                      Whether the facility reported on time is revision 1's flag: a
--                      correction sent later does not make an on-time report late
--   answers            the raw answers as JSON: {question name: value}, decimals as strings,
--                      money and counts as integers, choices as codes, plus computed
--                      figures and "<name>__confirmed" keys; may hold answers to questions
--                      that were no longer relevant (the columns below never do)
--   aware              management has learned about SXSH and its benefits (0/1)
--   aware_how          how, as a JSON array of codes: training, seminar, adviser_visit,
--                      media, other ('[]' if not aware)
--   staff_trained      staff trained in SXSH during `year`
--   applied            the facility applied SXSH during `year` (0/1)
--   not_applied_reason when applied = 0: no_information, no_funds, no_staff, not_needed, other
--   not_applied_detail when applied = 0: the reason in the manager's words (optional)
--   wants_adviser      when applied = 0: asks for an SXSH adviser to contact it (0/1)
--   techniques         JSON array of the techniques applied, in this order: good_housekeeping,
--                      input_change, process_control, equipment_modification,
--                      technology_change, onsite_reuse, byproducts, product_modification
--   product            the main product, as typed
--   product_unit       its unit, as typed ('tấn', 'nghìn viên', …); per-unit figures are
--                      per one of these
--   output             output of the product during `year`, in product_unit (decimal)
--   investment_vnd     investment in SXSH measures during `year`, whole VND
--   yearly_savings_vnd estimated savings per year thanks to them, whole VND
--   payback_years      investment_vnd / yearly_savings_vnd rounded to 2 decimals, as shown
--                      to and confirmed by the manager; NULL when yearly savings are 0
--   sxsh_unit          a dedicated SXSH unit or officer exists (0/1)
--   sxsh_unit_people   how many people it has
--   remarks            requests and remarks (optional)
--   reporter_name      who made the report; for a facility that did not apply SXSH (the
--                      form does not ask) the contact person of the facility profile
--   reporter_phone     their phone, likewise
--
-- report_resources: one row per resource the facility tracks, per revision
--   revision_id        report_revisions.id
--   resource           electricity, fuel, water or material
--   name               fuel: coal, firewood, biomass, oil, gas, other; material: its name as
--                      typed ('gạo', 'đất sét'); NULL for electricity and water
--   unit               electricity 'kWh', water 'm3'; fuel and material: tonne, kg, m3, litre
--                      (per one product_unit of the product)
--   baseline_year      year of the baseline figures (before SXSH)
--   baseline_per_unit  consumption per product unit at baseline (decimal)
--   current_per_unit   consumption per product unit during `year` (decimal)
--   saving_pct         (baseline - current) / baseline * 100, rounded to 2 decimals; negative
--                      when consumption went up
--   confirmed          1: the manager saw the saving and confirmed it
--   questioned         1: the saving was negative or above 60 %, the manager was asked
--                      "is that right?" and confirmed it (treat with care in indicators)
--
-- report_measures: one row per technique applied, per revision
--   revision_id        report_revisions.id
--   technique          one of the technique codes above
--   description        what was done, in the manager's words
--
-- latest_reports: every column of report_revisions for the latest revision of each
-- facility and year (each facility's report for that year), plus
--   first_submitted_at when revision 1 was received: when the facility first reported
--   first_late         revision 1's late flag: 1 if the facility reported late
CREATE TABLE report_revisions (
    id                  INTEGER PRIMARY KEY,
    facility_id         INTEGER NOT NULL REFERENCES facilities (id),
    year                INTEGER NOT NULL,
    revision            INTEGER NOT NULL CHECK (revision >= 1),
    receipt             TEXT NOT NULL UNIQUE,
    form_id             TEXT NOT NULL,
    form_version        INTEGER NOT NULL,
    draft_id            INTEGER REFERENCES drafts (id),
    submitted_at        TEXT NOT NULL,
    submitted_by        INTEGER REFERENCES users (id),
    late                INTEGER NOT NULL CHECK (late IN (0, 1)),
    answers             TEXT NOT NULL,
    aware               INTEGER CHECK (aware IN (0, 1)),
    aware_how           TEXT NOT NULL DEFAULT '[]',
    staff_trained       INTEGER,
    applied             INTEGER NOT NULL CHECK (applied IN (0, 1)),
    not_applied_reason  TEXT,
    not_applied_detail  TEXT,
    wants_adviser       INTEGER CHECK (wants_adviser IN (0, 1)),
    techniques          TEXT NOT NULL DEFAULT '[]',
    product             TEXT,
    product_unit        TEXT,
    output              TEXT,
    investment_vnd      INTEGER,
    yearly_savings_vnd  INTEGER,
    payback_years       TEXT,
    sxsh_unit           INTEGER CHECK (sxsh_unit IN (0, 1)),
    sxsh_unit_people    INTEGER,
    remarks             TEXT,
    reporter_name       TEXT,
    reporter_phone      TEXT,
    UNIQUE (facility_id, year, revision)
);
CREATE INDEX report_revisions_year ON report_revisions (year, facility_id);

CREATE TABLE report_resources (
    revision_id        INTEGER NOT NULL REFERENCES report_revisions (id),
    resource           TEXT NOT NULL CHECK (resource IN ('electricity', 'fuel', 'water', 'material')),
    name               TEXT,
    unit               TEXT,
    baseline_year      INTEGER,
    baseline_per_unit  TEXT NOT NULL,
    current_per_unit   TEXT NOT NULL,
    saving_pct         TEXT,
    confirmed          INTEGER NOT NULL CHECK (confirmed IN (0, 1)),
    questioned         INTEGER NOT NULL CHECK (questioned IN (0, 1)),
    PRIMARY KEY (revision_id, resource)
);

CREATE TABLE report_measures (
    revision_id  INTEGER NOT NULL REFERENCES report_revisions (id),
    technique    TEXT NOT NULL,
    description  TEXT,
    PRIMARY KEY (revision_id, technique)
);

CREATE VIEW latest_reports AS
SELECT r.*, f.submitted_at AS first_submitted_at, f.late AS first_late
FROM report_revisions AS r
JOIN report_revisions AS f
    ON f.facility_id = r.facility_id AND f.year = r.year AND f.revision = 1
WHERE r.revision = (
    SELECT MAX(o.revision)
    FROM report_revisions AS o
    WHERE o.facility_id = r.facility_id AND o.year = r.year
);
