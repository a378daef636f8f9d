-- Each member's reactions on konomi's pairs, in arrival order (id). A member's
-- vote on a pair is their latest reaction that is still there: removing it falls
-- back to an earlier one, and a catch-up after downtime reconciles with Discord.
CREATE TABLE pair_reactions (
    id         INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES pairs(message_id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL,
    outcome    REAL NOT NULL CHECK (outcome IN (0.0, 0.5, 1.0)),
    UNIQUE (message_id, user_id, outcome)
);
INSERT INTO pair_reactions (message_id, user_id, outcome)
    SELECT message_id, user_id, outcome FROM votes WHERE message_id IS NOT NULL ORDER BY id;
CREATE INDEX pairs_by_time ON pairs (created_at);
