-- What a failed row's permanent failure means, as the sender classified it (bot/core/platform.py: dms_closed,
-- not_member, deactivated, not_linked, removed, channel_missing, expired), so that reports are worded from the kind
-- and never from a platform's error codes. NULL: unclassified (the reason in last_error says what), or not failed.
ALTER TABLE outbox ADD COLUMN failure_kind TEXT;
