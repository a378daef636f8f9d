"""Imported first by the image helpers' forkserver, never by the bot itself.

Numerical libraries read these when they load: with one thread each, a helper's
address space stays small under its RLIMIT_AS (a second OpenBLAS thread alone
reserves about 180 MB). Helpers get their parallelism from being several.
"""

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"
