"""Training on Celery workers elsewhere: the broker's app (`celery_app`), the worker's
task (`worker`, the module `celery -A` names) and the bot's side (`dispatch`)."""
