-- migrate: foreign_keys=off
-- Platform accounts leave the people table for identities(person_id, platform, user_id): one account per person
-- and platform, and one person per account. Every existing id is moved; the people table is rebuilt without the
-- two columns (SQLite cannot drop a UNIQUE column in place), keeping every row and its id, so nothing that refers
-- to a person changes. The runner switches foreign keys off around this file and checks them before committing.
CREATE TABLE identities (
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    platform  TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    linked_at TEXT NOT NULL,
    PRIMARY KEY (platform, user_id),
    UNIQUE (person_id, platform)
);

INSERT INTO identities (person_id, platform, user_id, linked_at)
    SELECT id, 'discord', discord_id, updated_at FROM people WHERE discord_id IS NOT NULL AND discord_id <> '';
INSERT INTO identities (person_id, platform, user_id, linked_at)
    SELECT id, 'slack', slack_id, updated_at FROM people WHERE slack_id IS NOT NULL AND slack_id <> '';

CREATE TABLE people_new (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL,
    email            TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role             TEXT NOT NULL CHECK (role IN ('scholar', 'facilitator', 'organizer')),
    track            TEXT,
    timezone         TEXT,
    stipend_eligible INTEGER NOT NULL DEFAULT 1 CHECK (stipend_eligible IN (0, 1)),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
INSERT INTO people_new (id, name, email, role, track, timezone, stipend_eligible, created_at, updated_at)
    SELECT id, name, email, role, track, timezone, stipend_eligible, created_at, updated_at FROM people;
DROP TABLE people;
ALTER TABLE people_new RENAME TO people;
CREATE INDEX people_by_name ON people(name COLLATE NOCASE);
CREATE INDEX people_by_role ON people(role);
CREATE INDEX identities_by_person ON identities(person_id);
