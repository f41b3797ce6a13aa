-- A counter that every change to the roster moves on (people, their sections, their platform accounts), kept by
-- triggers, so any process can tell cheaply whether the roster changed: PeopleRepo keeps people it looked up by
-- platform account in memory for as long as this number stays the same (bot/storage/people.py). A change made
-- by another process (`cohortbot roster import` while the bot runs, a hand-written UPDATE) moves it too.
-- A migration that rebuilds one of these tables (DROP and CREATE) drops its triggers: it must create them again
-- (tests/bot/storage/test_identities.py checks every table and kind of change).
CREATE TABLE roster_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO roster_version (id, version) VALUES (1, 0);

CREATE TRIGGER roster_version_people_insert AFTER INSERT ON people
BEGIN UPDATE roster_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER roster_version_people_update AFTER UPDATE ON people
BEGIN UPDATE roster_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER roster_version_people_delete AFTER DELETE ON people
BEGIN UPDATE roster_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER roster_version_sections_insert AFTER INSERT ON person_sections
BEGIN UPDATE roster_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER roster_version_sections_update AFTER UPDATE ON person_sections
BEGIN UPDATE roster_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER roster_version_sections_delete AFTER DELETE ON person_sections
BEGIN UPDATE roster_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER roster_version_identities_insert AFTER INSERT ON identities
BEGIN UPDATE roster_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER roster_version_identities_update AFTER UPDATE ON identities
BEGIN UPDATE roster_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER roster_version_identities_delete AFTER DELETE ON identities
BEGIN UPDATE roster_version SET version = version + 1 WHERE id = 1; END;
