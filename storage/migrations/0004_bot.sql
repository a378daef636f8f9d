-- The bot's own state: command-sync hash, channels with scheduled pairs, people who
-- asked konomi to forget them.
CREATE TABLE bot_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE vote_channels (
    channel_id     INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL REFERENCES guild_pools(guild_id) ON DELETE CASCADE,
    interval_s     REAL NOT NULL,
    enabled_by     INTEGER NOT NULL,
    last_posted_at REAL NOT NULL DEFAULT 0
);

CREATE TABLE forgotten_users (
    guild_id     INTEGER NOT NULL REFERENCES guild_pools(guild_id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL,
    forgotten_at REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0),
    PRIMARY KEY (guild_id, user_id)
);
