-- One-off changes to a section's weekly meeting (the weekly pattern itself lives in the cohort file):
-- moved to another time, or cancelled. A cancelled meeting is not held and never counts against anyone.
CREATE TABLE meeting_changes (
    section    TEXT NOT NULL COLLATE NOCASE,
    week       INTEGER NOT NULL CHECK (week > 0),
    status     TEXT NOT NULL CHECK (status IN ('moved', 'cancelled')),
    starts_at  TEXT,                                   -- UTC; the new start when moved
    reason     TEXT,
    changed_by INTEGER REFERENCES people(id) ON DELETE SET NULL,
    changed_at TEXT NOT NULL,                          -- UTC
    sequence   INTEGER NOT NULL DEFAULT 1,             -- how many times this meeting was changed (iCalendar SEQUENCE)
    PRIMARY KEY (section, week)
);
