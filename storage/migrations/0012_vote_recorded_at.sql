-- When konomi stored each vote. voted_at is when it was cast, and an imported file may
-- date it anywhere; the retrain schedule counts the votes recorded since each model, so
-- a vote dated in the future is counted once, not after every retrain until its date.
-- (A constant default: SQLite adds no column with an expression default; every insert
-- sets it.)
ALTER TABLE votes ADD COLUMN recorded_at REAL NOT NULL DEFAULT 0;
UPDATE votes SET recorded_at = MIN(voted_at, (julianday('now') - 2440587.5) * 86400.0);
DROP INDEX votes_by_guild_time;
CREATE INDEX votes_by_guild_recorded ON votes (guild_id, recorded_at);
