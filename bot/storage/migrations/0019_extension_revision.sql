-- Each change of an extension's deadline is a new grant, numbered per person and week: /extend bumps `revision`
-- when `until` changes, and the grant's DM and reminder are keyed by it (extension:week-N:person-ID:rev-R,
-- hw-reminder:week-N:person-ID:rev-R). Keys by date made a return to an earlier date a duplicate that the outbox
-- dropped (no DM, no reminder). Extensions granted before this version are their first revision; the rows of
-- their DMs and reminders keep their date keys, and a new grant skips them by their person and week.
ALTER TABLE extensions ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;

-- `/outbox retry:true` re-queues only what failed lately (the last 7 days): when a row failed is recorded in
-- failed_at (UTC, set by `failed` and `expire`). Rows that failed before this version take the time they were
-- last due, the nearest known.
ALTER TABLE outbox ADD COLUMN failed_at TEXT;
UPDATE outbox SET failed_at = not_before WHERE state = 'failed';
