-- Rotating pairs and disagreement topics (issue 14; see docs/pairs.md).

-- One pairing session: a lobby, then rounds every `minutes`. `next_at` is when the next step is due (the lobby
-- closing, the next round, or the end after the last round); the scheduler plans one job per step from it.
CREATE TABLE pair_sessions (
    id            INTEGER PRIMARY KEY,
    section       TEXT COLLATE NOCASE,                 -- NULL for a session without a section (a workshop, say)
    channel       TEXT NOT NULL,                       -- where rounds are posted (a cohort-file channel name)
    workshop      TEXT,                                -- "<session name>#<block>" when an agenda block started it
    size          INTEGER NOT NULL CHECK (size IN (2, 3)),
    rounds        INTEGER NOT NULL CHECK (rounds > 0),
    minutes       INTEGER NOT NULL CHECK (minutes > 0),
    trios         INTEGER NOT NULL CHECK (trios IN (0, 1)),
    avoid_history INTEGER NOT NULL CHECK (avoid_history IN (0, 1)),
    state         TEXT NOT NULL CHECK (state IN ('lobby', 'running', 'done', 'stopped')),
    current_round INTEGER NOT NULL DEFAULT 0,          -- the round under way (0 in the lobby)
    next_at       TEXT,                                -- UTC; NULL once over
    seed          INTEGER NOT NULL,
    plan          TEXT,                                -- JSON {"people": [...], "rounds": [[[ids], ...], ...]}
    started_by    INTEGER REFERENCES people(id) ON DELETE SET NULL,
    created_at    TEXT NOT NULL,                       -- UTC
    ended_at      TEXT,                                -- UTC
    end_reason    TEXT
);
CREATE INDEX pair_sessions_active ON pair_sessions(state) WHERE state IN ('lobby', 'running');

-- Who takes part: from round `joined_round` (late joiners: the next round) until before `left_round`.
CREATE TABLE pair_members (
    session_id   INTEGER NOT NULL REFERENCES pair_sessions(id) ON DELETE CASCADE,
    person_id    INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    joined_round INTEGER NOT NULL,
    left_round   INTEGER,
    joined_at    TEXT NOT NULL,                        -- UTC
    PRIMARY KEY (session_id, person_id)
);
CREATE INDEX pair_members_by_person ON pair_members(person_id);

-- Each round as played: its groups (one row per person), when it started and ends, the topic suggested.
CREATE TABLE pair_rounds (
    session_id INTEGER NOT NULL REFERENCES pair_sessions(id) ON DELETE CASCADE,
    round      INTEGER NOT NULL CHECK (round > 0),
    started_at TEXT NOT NULL,                          -- UTC
    ends_at    TEXT NOT NULL,                          -- UTC
    PRIMARY KEY (session_id, round)
);
CREATE TABLE pair_groups (
    session_id INTEGER NOT NULL,
    round      INTEGER NOT NULL,
    grp        INTEGER NOT NULL,                       -- 0 = resting (when trios_for_odd is off)
    person_id  INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    suggestion TEXT,                                   -- the topic suggested to this group
    PRIMARY KEY (session_id, round, person_id),
    FOREIGN KEY (session_id, round) REFERENCES pair_rounds(session_id, round) ON DELETE CASCADE
);
CREATE INDEX pair_groups_by_person ON pair_groups(person_id, session_id, round);

-- Who has met whom, once per session (a < b): the history that keeps later sessions apart.
CREATE TABLE pair_met (
    a          INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    b          INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    session_id INTEGER NOT NULL REFERENCES pair_sessions(id) ON DELETE CASCADE,
    CHECK (a < b),
    PRIMARY KEY (a, b, session_id)
);
CREATE INDEX pair_met_by_b ON pair_met(b);

-- Disagreement topics: one per group and round, used by everyone in the group.
CREATE TABLE pair_topics (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES pair_sessions(id) ON DELETE CASCADE,
    round      INTEGER NOT NULL,
    grp        INTEGER NOT NULL,
    text       TEXT NOT NULL,
    normalized TEXT NOT NULL,
    logged_by  INTEGER REFERENCES people(id) ON DELETE SET NULL,
    logged_at  TEXT NOT NULL,                          -- UTC
    UNIQUE (session_id, round, grp)
);
CREATE TABLE pair_topic_people (
    topic_id  INTEGER NOT NULL REFERENCES pair_topics(id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    PRIMARY KEY (topic_id, person_id)
);
CREATE INDEX pair_topic_people_by_person ON pair_topic_people(person_id);
