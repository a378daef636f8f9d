"""One cog per feature: voting, ranking, training, pool admin, privacy. Each parses,
answers first, calls a service and renders its result."""
