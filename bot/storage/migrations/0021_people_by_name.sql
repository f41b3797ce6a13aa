-- Who runs a section (bot/membership.py) looks the cohort file's facilitators up by email or by exact name, as
-- SQLite's NOCASE compares them: names get their own index, so 20,000 people are never scanned for a few names.
CREATE INDEX IF NOT EXISTS people_by_name ON people(name COLLATE NOCASE);
