-- Sections (issue 12): private calendar subscription links, and the platform events made for section meetings.

-- One calendar subscription link per person: GET /calendar/<token>.ics serves their meetings and deadlines.
-- The token is random (256 bits) and only ever shown to its owner; revoking it (the owner, or an organizer)
-- makes the link answer 404. A new link replaces the row.
CREATE TABLE calendar_feeds (
    person_id  INTEGER PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
    token      TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,                        -- UTC
    revoked_at TEXT,                                 -- UTC; NULL while the link works
    revoked_by INTEGER REFERENCES people(id) ON DELETE SET NULL
);

-- Scheduled events a platform created for us (e.g. a server's Events list), by what they show ("ref", e.g.
-- "section:americas-tue:week-2"), so a retry or a restart updates the same event instead of making another.
CREATE TABLE scheduled_events (
    platform   TEXT NOT NULL,
    ref        TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('scheduled', 'cancelled')),
    updated_at TEXT NOT NULL,                        -- UTC
    PRIMARY KEY (platform, ref)
);
