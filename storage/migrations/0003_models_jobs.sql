-- Trained models (user_id NULL: the guild model) and the training job queue.
CREATE TABLE models (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL REFERENCES guild_pools(guild_id) ON DELETE CASCADE,
    user_id      INTEGER,
    version      INTEGER NOT NULL,
    architecture TEXT NOT NULL,
    config_json  TEXT NOT NULL,
    weights_npz  BLOB NOT NULL,
    metrics_json TEXT NOT NULL,
    created_at   REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0)
);
CREATE UNIQUE INDEX models_version ON models (guild_id, IFNULL(user_id, -1), version);

CREATE TABLE jobs (
    id                INTEGER PRIMARY KEY,
    guild_id          INTEGER NOT NULL REFERENCES guild_pools(guild_id) ON DELETE CASCADE,
    user_id           INTEGER,
    kind              TEXT NOT NULL,          -- 'guild' or 'personal'
    state             TEXT NOT NULL DEFAULT 'queued'
                      CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    error             TEXT,
    model_id          INTEGER REFERENCES models(id) ON DELETE SET NULL,
    worker_pid        INTEGER,
    created_at        REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0),
    started_at        REAL,
    finished_at       REAL,
    notify_channel_id INTEGER,
    interaction_token TEXT,
    token_expires_at  REAL,
    notified_at       REAL
);
-- At most one queued job per (guild, user): a second request joins it.
CREATE UNIQUE INDEX jobs_one_queued ON jobs (guild_id, IFNULL(user_id, -1)) WHERE state = 'queued';
CREATE INDEX jobs_by_state ON jobs (state, created_at);
