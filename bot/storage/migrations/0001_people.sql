-- The roster: who is who. Imported from CSV, editable by organizers.
CREATE TABLE people (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL,
    email            TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role             TEXT NOT NULL CHECK (role IN ('scholar', 'facilitator', 'organizer')),
    track            TEXT,
    discord_id       TEXT UNIQUE,
    slack_id         TEXT UNIQUE,
    timezone         TEXT,
    stipend_eligible INTEGER NOT NULL DEFAULT 1 CHECK (stipend_eligible IN (0, 1)),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);

-- A scholar belongs to one section; a facilitator may run several.
CREATE TABLE person_sections (
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    section   TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (person_id, section)
);
CREATE INDEX person_sections_by_section ON person_sections(section);

-- Discord DM channel ids, so that a DM costs one request instead of two.
CREATE TABLE dm_channels (
    platform   TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    PRIMARY KEY (platform, user_id)
);
