-- Why each posted pair was chosen: "informative" (the pair the model expected to learn
-- the most from) or "random" (uniform: the control arm, and every pair posted before).
ALTER TABLE pairs ADD COLUMN chosen_by TEXT NOT NULL DEFAULT 'random'
    CHECK (chosen_by IN ('random', 'informative'));
