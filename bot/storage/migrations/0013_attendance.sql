-- Attendance, check-in codes and stipends (issue 13; see docs/attendance.md and docs/stipends.md).

-- A meeting whose attendance was taken (saved from the checklist, or a typed roll call). It makes every member
-- without a mark absent, and it is what "held" means for facilitator pay. `revision` grows with every save,
-- so a checklist shown before a save knows it is stale.
CREATE TABLE attendance_meetings (
    section     TEXT NOT NULL COLLATE NOCASE,
    week        INTEGER NOT NULL CHECK (week > 0),
    recorded_by INTEGER REFERENCES people(id) ON DELETE SET NULL,
    recorded_at TEXT NOT NULL,                         -- UTC; the last save
    revision    INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (section, week)
);

-- Each person's mark for one meeting, as it stands. Someone marked present at another section's meeting is
-- there on a make-up (for their own meeting of that week).
CREATE TABLE attendance (
    section    TEXT NOT NULL COLLATE NOCASE,
    week       INTEGER NOT NULL CHECK (week > 0),
    person_id  INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    status     TEXT NOT NULL CHECK (status IN ('present', 'excused', 'absent')),
    reason     TEXT,                                   -- why an absence is excused
    source     TEXT NOT NULL CHECK (source IN ('checkin', 'checklist', 'typed')),
    updated_by INTEGER REFERENCES people(id) ON DELETE SET NULL,
    updated_at TEXT NOT NULL,                          -- UTC
    PRIMARY KEY (section, week, person_id)
);
CREATE INDEX attendance_by_person ON attendance(person_id, week);

-- The audit trail: every change of a mark, who made it and when (never updated, never deleted).
CREATE TABLE attendance_changes (
    id         INTEGER PRIMARY KEY,
    section    TEXT NOT NULL COLLATE NOCASE,
    week       INTEGER NOT NULL,
    person_id  INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    old_status TEXT,                                   -- NULL: no mark before
    new_status TEXT NOT NULL,
    reason     TEXT,
    source     TEXT NOT NULL,
    changed_by INTEGER REFERENCES people(id) ON DELETE SET NULL,
    changed_at TEXT NOT NULL                           -- UTC
);
CREATE INDEX attendance_changes_by_meeting ON attendance_changes(section, week, id);

-- What a facilitator has ticked in the checklist and not saved yet (a select runs at every change).
CREATE TABLE attendance_drafts (
    section    TEXT NOT NULL COLLATE NOCASE,
    week       INTEGER NOT NULL,
    editor_id  INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    present    TEXT NOT NULL,                          -- JSON list of person ids
    updated_at TEXT NOT NULL,
    PRIMARY KEY (section, week, editor_id)
);

-- Check-in windows opened with /checkin-code; each counts for its section's meeting of `week`.
CREATE TABLE checkin_windows (
    id         INTEGER PRIMARY KEY,
    section    TEXT NOT NULL COLLATE NOCASE,
    week       INTEGER NOT NULL CHECK (week > 0),
    code       TEXT NOT NULL,
    opened_by  INTEGER REFERENCES people(id) ON DELETE SET NULL,
    opened_at  TEXT NOT NULL,                          -- UTC
    expires_at TEXT NOT NULL                           -- UTC; closed early when a new code replaces it
);
CREATE INDEX checkin_windows_by_code ON checkin_windows(code, expires_at);
CREATE INDEX checkin_windows_by_section ON checkin_windows(section, expires_at);

-- Wrong codes typed by a person while a window of their section was open; 5 lock them out of that window.
CREATE TABLE checkin_failures (
    window_id INTEGER NOT NULL REFERENCES checkin_windows(id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    tries     INTEGER NOT NULL,
    last_at   TEXT NOT NULL,
    PRIMARY KEY (window_id, person_id)
);

-- Organizers' adjustments to a facilitator's pay, in cents of the cohort's currency, with the reason.
CREATE TABLE pay_adjustments (
    id           INTEGER PRIMARY KEY,
    person_id    INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    amount_cents INTEGER NOT NULL,
    reason       TEXT NOT NULL,
    added_by     INTEGER REFERENCES people(id) ON DELETE SET NULL,
    added_at     TEXT NOT NULL
);
CREATE INDEX pay_adjustments_by_person ON pay_adjustments(person_id);

-- At-risk alerts already sent (written in the same transaction as their outbox rows): each goes out once.
CREATE TABLE stipend_alerts (
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    kind      TEXT NOT NULL CHECK (kind IN ('sections', 'homework', 'lost')),
    sent_at   TEXT NOT NULL,
    PRIMARY KEY (person_id, kind)
);
