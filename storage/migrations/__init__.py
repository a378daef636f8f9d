"""The schema's numbered SQL files, applied in order up to `PRAGMA user_version`."""
