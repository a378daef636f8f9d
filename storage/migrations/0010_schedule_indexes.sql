-- The worker's retrain schedule counts votes since each model: by guild and time,
-- and each person's latest model, without reading every vote.
CREATE INDEX votes_by_guild_time ON votes (guild_id, voted_at);
CREATE INDEX models_by_owner_time ON models (guild_id, user_id, created_at);
