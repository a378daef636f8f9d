"""Imported by the image helpers' forkserver after the modules they run: dlib's two
models are loaded there once, so every helper forked from it (a fresh one after each
`files_per_process` files) starts with them instead of reading them again (~0.5 s each).
"""

from model.descriptor import load_models

load_models()
