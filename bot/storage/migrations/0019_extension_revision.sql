-- Each change of an extension's deadline is a new grant, numbered per person and week: /extend bumps `revision`
-- when `until` changes, and the grant's DM and reminder are keyed by it (extension:week-N:person-ID:rev-R,
-- hw-reminder:week-N:person-ID:rev-R). Keys by date made a return to an earlier date a duplicate that the outbox
-- dropped (no DM, no reminder). Extensions granted before this version are their first revision; the rows of
-- their DMs and reminders keep their date keys, and a new grant skips them by their person and week.
ALTER TABLE extensions ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
