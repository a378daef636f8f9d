-- The general face descriptor of each face (128 little-endian float32, 512 bytes),
-- computed at ingest; NULL for faces stored before it existed until
-- `python -m bot faces describe` fills them in (a SQL migration cannot run dlib).
ALTER TABLE faces ADD COLUMN descriptor BLOB;
