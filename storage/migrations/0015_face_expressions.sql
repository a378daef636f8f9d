-- The raw expression HOG of each face (model/expression.py: 3,708 little-endian
-- float16, 7.4 KB), taken with its descriptor from the same aligned chip; the guild
-- model projects it on a PCA of its pool. NULL for faces stored before it existed
-- until `python -m bot faces describe` fills them in.
ALTER TABLE faces ADD COLUMN expression BLOB;
