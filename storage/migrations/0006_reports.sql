-- Face reports: who reported which face, and whether the report hid it. A member's
-- reports of the last day are counted, so one member cannot hide the whole pool.
CREATE TABLE face_reports (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL REFERENCES guild_pools(guild_id) ON DELETE CASCADE,
    face_id     INTEGER NOT NULL,
    reporter_id INTEGER NOT NULL,
    hid_face    INTEGER NOT NULL,
    reported_at REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0)
);
CREATE INDEX face_reports_by_reporter ON face_reports (guild_id, reporter_id, reported_at);
