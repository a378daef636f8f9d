"""An argument that kills the helper receiving it, before the helper can acknowledge
the file: a file lost in the hand-over, on demand (tests/bot/services/test_imaging.py)."""

import os


class Poison:
    def __reduce__(self):
        return (os._exit, (9,))
