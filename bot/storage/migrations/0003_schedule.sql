-- Scheduled work that ran (or was skipped), so a restart never runs a job twice; see docs/scheduling.md.
CREATE TABLE job_runs (
    job_id  TEXT PRIMARY KEY,                      -- PlannedJob.id, fixed (e.g. "post:week-3")
    due_at  TEXT NOT NULL,                         -- UTC; when the job was due
    state   TEXT NOT NULL CHECK (state IN ('done', 'skipped')),
    reason  TEXT,                                  -- why it was skipped (e.g. beyond the misfire grace)
    ran_at  TEXT NOT NULL                          -- UTC; when it ran or was skipped
);

