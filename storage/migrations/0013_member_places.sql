-- Where each member votes in private: their own private thread (under the channel where
-- they first used /vote, or the one an admin chose) or their direct messages.
CREATE TABLE member_places (
    guild_id   INTEGER NOT NULL REFERENCES guild_pools(guild_id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('thread', 'dm')),
    channel_id INTEGER,                      -- the thread or DM channel; NULL until opened
    created_at REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0),
    PRIMARY KEY (guild_id, user_id)
);
ALTER TABLE guild_pools ADD COLUMN places_channel_id INTEGER;

-- A pass (the skip reaction) on a pair: no vote, and the pair counts as answered.
CREATE TABLE pair_skips (
    message_id INTEGER NOT NULL REFERENCES pairs(message_id) ON DELETE CASCADE,
    guild_id   INTEGER NOT NULL REFERENCES guild_pools(guild_id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL,
    skipped_at REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0),
    PRIMARY KEY (message_id, user_id)
);

-- Members who agreed to compare tastes with /match.
CREATE TABLE match_opt_ins (
    guild_id     INTEGER NOT NULL REFERENCES guild_pools(guild_id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL,
    opted_in_at  REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0),
    PRIMARY KEY (guild_id, user_id)
);

-- When the member themself asked for the job (/retrain), NULL for automatic jobs: the
-- cooldown counts only a member's own requests.
ALTER TABLE jobs ADD COLUMN requested_at REAL;
UPDATE jobs SET requested_at = created_at WHERE interaction_token IS NOT NULL;

-- When konomi welcomed the server's admins (once: not again when it is added back within
-- the grace period), and the role an admin lets manage the pool and the reports.
ALTER TABLE guild_pools ADD COLUMN welcomed_at REAL;
ALTER TABLE guild_pools ADD COLUMN moderators_role_id INTEGER;
