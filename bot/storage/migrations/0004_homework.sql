-- Homework: every submission is kept (history); the latest per person and week counts.
CREATE TABLE submissions (
    id           INTEGER PRIMARY KEY,
    person_id    INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    week         INTEGER NOT NULL CHECK (week > 0),
    link         TEXT,                                  -- an http(s) link
    text         TEXT,                                  -- a written answer or note
    file_name    TEXT,                                  -- an uploaded file (Discord attachment) ...
    file_size    INTEGER,
    file_content BLOB,                                  -- ... its bytes (capped by the feature)
    file_url     TEXT,                                  -- or where the platform keeps it
    submitted_at TEXT NOT NULL,                         -- UTC
    late         INTEGER NOT NULL CHECK (late IN (0, 1)),  -- after the due time (or the extension)
    platform     TEXT NOT NULL
);
CREATE INDEX submissions_by_person_week ON submissions(person_id, week, submitted_at);
CREATE INDEX submissions_by_week ON submissions(week);

-- One extension per person and week; a new grant replaces the earlier one.
CREATE TABLE extensions (
    person_id  INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    week       INTEGER NOT NULL CHECK (week > 0),
    until      TEXT NOT NULL,                           -- UTC; the new deadline
    granted_by INTEGER REFERENCES people(id) ON DELETE SET NULL,
    granted_at TEXT NOT NULL,                           -- UTC
    PRIMARY KEY (person_id, week)
);
