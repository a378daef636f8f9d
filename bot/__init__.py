"""konomi's application: the Discord face, the CLI, the service and the worker."""
