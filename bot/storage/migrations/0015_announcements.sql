-- Announcements (/announce, /announcements): a previewed message to an audience, sent once per person through
-- the outbox (keys "announce:<id>:<person id>" for DMs, "announce:<id>:#<channel>" for a post), now or at a time.
CREATE TABLE announcements (
    id           INTEGER PRIMARY KEY,
    author_id    INTEGER REFERENCES people(id) ON DELETE SET NULL,  -- NULL once removed from the roster
    audience     TEXT NOT NULL,                 -- the `to` as understood: all, scholars, track:intro, people, ...
    label        TEXT NOT NULL,                 -- the audience in words ("section americas-tue")
    message      TEXT NOT NULL,                 -- the Message (JSON) exactly as recipients see it
    dm           INTEGER NOT NULL CHECK (dm IN (0, 1)),
    channel      TEXT,                          -- where a post goes (NULL for DMs)
    send_at      TEXT NOT NULL,                 -- UTC: when it goes out (the preview's time for "now")
    scheduled    INTEGER NOT NULL CHECK (scheduled IN (0, 1)),  -- given a time with at:
    state        TEXT NOT NULL DEFAULT 'draft'
                 CHECK (state IN ('draft', 'scheduled', 'sending', 'done', 'cancelled')),
    round        INTEGER NOT NULL DEFAULT 1,    -- 1, then +1 for each "Retry failed" (its report is a new one)
    created_at   TEXT NOT NULL,                 -- the preview
    confirmed_at TEXT,                          -- Send pressed
    started_at   TEXT,                          -- its rows were queued
    done_at      TEXT,                          -- every row settled and the author told
    cancelled_at TEXT,
    cancelled_by INTEGER REFERENCES people(id) ON DELETE SET NULL
);
CREATE INDEX announcements_by_state ON announcements(state, send_at);
CREATE INDEX announcements_by_author ON announcements(author_id, id);

-- Who it is for, fixed at the preview; `unreachable` says why someone got no outbox row (no account linked on
-- the platform, not in the server or workspace), NULL for those queued (or not yet looked at).
CREATE TABLE announcement_recipients (
    announcement_id INTEGER NOT NULL REFERENCES announcements(id) ON DELETE CASCADE,
    person_id       INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    unreachable     TEXT,
    PRIMARY KEY (announcement_id, person_id)
) WITHOUT ROWID;
