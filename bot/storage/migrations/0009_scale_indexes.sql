-- Homework views at 20,000 people: one week (or one section's week) read by index, never the whole course.
-- Scholars by name: the order every homework view and export lists people in, without a sort.
CREATE INDEX IF NOT EXISTS people_by_role_name ON people(role, name COLLATE NOCASE);

-- An extension's reminder is an outbox row (not_before = the extension's end - the reminder hours), queued when
-- the extension is granted. Extensions granted before this version have none yet: reminder_planned = 0 marks
-- them, and the homework planner queues their reminders once (the partial index finds them at no cost).
ALTER TABLE extensions ADD COLUMN reminder_planned INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS extensions_unplanned ON extensions(person_id, week) WHERE reminder_planned = 0;
