-- Jobs sent to Celery workers on other machines: the task id of the current attempt,
-- when it was sent (a job with no result long after is sent again), and the worker
-- last seen running it (a different one means the one before died: an attempt counted).
ALTER TABLE jobs ADD COLUMN task_id TEXT;
ALTER TABLE jobs ADD COLUMN sent_at REAL;
ALTER TABLE jobs ADD COLUMN task_worker TEXT;
