-- Pairs posted to Discord and the votes people cast on them with reactions.
CREATE TABLE pairs (
    message_id INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL REFERENCES guild_pools(guild_id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL,
    face_a     INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
    face_b     INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
    posted_for INTEGER,                      -- the user who asked with /vote, if any
    created_at REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0)
);
CREATE INDEX pairs_by_guild ON pairs (guild_id);

CREATE TABLE votes (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL REFERENCES guild_pools(guild_id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL,
    message_id INTEGER REFERENCES pairs(message_id) ON DELETE CASCADE,
    face_a     INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
    face_b     INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
    outcome    REAL NOT NULL CHECK (outcome IN (0.0, 0.5, 1.0)),  -- 1: A wins, 0: B wins
    voted_at   REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0)
);
-- One live vote per user per posted pair (the latest reaction wins).
CREATE UNIQUE INDEX votes_one_per_pair ON votes (user_id, message_id);
CREATE INDEX votes_by_guild_user ON votes (guild_id, user_id);
