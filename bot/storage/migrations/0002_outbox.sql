-- Everything the bot sends on its own is written here first, then delivered by the outbox worker.
CREATE TABLE outbox (
    id                  INTEGER PRIMARY KEY,
    key                 TEXT NOT NULL UNIQUE,          -- idempotency key: never sent twice
    platform            TEXT NOT NULL,
    target              TEXT NOT NULL,                 -- "channel:<name>" or "dm:<person id>"
    payload             TEXT NOT NULL,                 -- the Message as JSON
    state               TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    not_before          TEXT NOT NULL,                 -- UTC; not delivered before this
    last_error          TEXT,
    platform_message_id TEXT,
    created_at          TEXT NOT NULL,
    sent_at             TEXT
);
CREATE INDEX outbox_due ON outbox(state, not_before);
