-- Onboarding and the roster (cogs/roster): removal that keeps history, personal join codes, join requests that
-- organizers approve, the change log, email lookups on platforms that can do them, and membership sync state.

-- Set by `/roster remove`: the person keeps their history (exports) but may no longer use the bot.
ALTER TABLE people ADD COLUMN removed_at TEXT;
CREATE INDEX people_by_removed ON people(removed_at);

-- One personal code per person, made when they reach the roster; `/join code:` spends it once.
CREATE TABLE join_codes (
    person_id  INTEGER PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
    code       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    used_at    TEXT,
    used_by    TEXT                                   -- "<platform>:<user id>" of the account it linked
);

-- Wrong codes, per account, to limit guessing (old rows are pruned as new ones arrive).
CREATE TABLE join_attempts (
    platform TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    at       TEXT NOT NULL
);
CREATE INDEX join_attempts_by_account ON join_attempts(platform, user_id, at);

-- `/join email:` without a code: an organizer approves or denies with the buttons of the request's message.
CREATE TABLE join_requests (
    id           INTEGER PRIMARY KEY,
    platform     TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL COLLATE NOCASE,
    state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'denied')),
    created_at   TEXT NOT NULL,
    decided_at   TEXT,
    decided_by   INTEGER REFERENCES people(id)
);
CREATE UNIQUE INDEX join_requests_one_pending ON join_requests(platform, user_id) WHERE state = 'pending';
CREATE INDEX join_requests_by_state ON join_requests(state, created_at);

-- Every change to the roster made through the bot: who (a person, or what: "join code", "email lookup") and when.
CREATE TABLE roster_changes (
    id        INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    at        TEXT NOT NULL,
    by_person INTEGER REFERENCES people(id) ON DELETE SET NULL,
    by_text   TEXT NOT NULL,
    action    TEXT NOT NULL,                          -- added, changed, removed, restored, linked
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX roster_changes_by_person ON roster_changes(person_id, id);

-- The last lookup of an email in a platform's directory (user_id NULL: not found then).
CREATE TABLE email_lookups (
    platform     TEXT NOT NULL,
    email        TEXT NOT NULL COLLATE NOCASE,
    user_id      TEXT,
    looked_up_at TEXT NOT NULL,
    PRIMARY KEY (platform, email)
);

-- What was last asked of a platform for a person's roles and channels: a change of `signature` (roles, channels,
-- account) queues one sync task keyed by the next `generation`, so a restart or a re-plan never queues it twice.
CREATE TABLE member_sync (
    person_id  INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    platform   TEXT NOT NULL,
    user_id    TEXT,
    signature  TEXT NOT NULL,
    generation INTEGER NOT NULL,
    PRIMARY KEY (person_id, platform)
);
