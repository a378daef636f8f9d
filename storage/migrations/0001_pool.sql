-- Face pools: one per guild, built from source images (files, video frames, uploads).
CREATE TABLE guild_pools (
    guild_id   INTEGER PRIMARY KEY,
    created_at REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0)
);

CREATE TABLE sources (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL REFERENCES guild_pools(guild_id) ON DELETE CASCADE,
    content_hash TEXT NOT NULL,              -- sha256 of the file's bytes
    origin       TEXT NOT NULL,              -- file name or upload description
    created_at   REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0),
    UNIQUE (guild_id, content_hash)
);

CREATE TABLE faces (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL REFERENCES guild_pools(guild_id) ON DELETE CASCADE,
    source_id  INTEGER REFERENCES sources(id) ON DELETE SET NULL,
    crop_png   BLOB NOT NULL,
    box_x      INTEGER NOT NULL,
    box_y      INTEGER NOT NULL,
    box_w      INTEGER NOT NULL,
    box_h      INTEGER NOT NULL,
    frame_s    REAL,                         -- time in the video, for video sources
    phash      INTEGER NOT NULL,             -- 64-bit DCT hash, stored signed
    hidden     INTEGER NOT NULL DEFAULT 0,   -- reported or hidden by an admin
    created_at REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0)
);
CREATE INDEX faces_by_guild ON faces (guild_id, hidden);
