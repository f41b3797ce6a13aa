-- When each row was first due (UTC; its not_before at enqueue time, or at a re-queue). Retries push not_before
-- back, never due_at: a row is failed for good once it is older than COHORTBOT_OUTBOX_MAX_AGE_HOURS past due_at.
ALTER TABLE outbox ADD COLUMN due_at TEXT;
UPDATE outbox SET due_at = not_before WHERE due_at IS NULL;
-- /outbox lists the latest failures (state = 'failed' ORDER BY id DESC) without scanning the table.
CREATE INDEX outbox_state_id ON outbox(state, id);
