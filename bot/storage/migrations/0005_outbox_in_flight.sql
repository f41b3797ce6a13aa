-- When the worker handed a claimed row to the platform (real UTC time), NULL until then and once the outcome
-- is recorded. A row left in 'sending' with it set may or may not have reached the platform: recovery asks the
-- platform (Sender.delivered) before sending it again; without it the row was claimed but never tried.
ALTER TABLE outbox ADD COLUMN in_flight_at TEXT;
