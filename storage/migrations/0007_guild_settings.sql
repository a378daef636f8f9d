-- Guild settings as columns of the guild's own row instead of string keys in bot_state:
-- where face reports go, and when the bot left the guild (its data is purged after a
-- grace period unless it comes back).
ALTER TABLE guild_pools ADD COLUMN reports_channel_id INTEGER;
ALTER TABLE guild_pools ADD COLUMN left_at REAL;

INSERT OR IGNORE INTO guild_pools (guild_id)
    SELECT CAST(substr(key, length('reports_channel:') + 1) AS INTEGER) FROM bot_state
    WHERE key LIKE 'reports_channel:%'
    UNION
    SELECT CAST(substr(key, length('left_at:') + 1) AS INTEGER) FROM bot_state
    WHERE key LIKE 'left_at:%';
UPDATE guild_pools SET
    reports_channel_id = (
        SELECT CAST(value AS INTEGER) FROM bot_state
        WHERE key = 'reports_channel:' || guild_pools.guild_id
    ),
    left_at = (
        SELECT CAST(value AS REAL) FROM bot_state WHERE key = 'left_at:' || guild_pools.guild_id
    );
DELETE FROM bot_state WHERE key LIKE 'reports_channel:%' OR key LIKE 'left_at:%';
