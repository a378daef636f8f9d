"""`python -m bot`: the command line (bot/cli.py), from `run` to `purge`."""

import sys

from bot.cli import main

sys.exit(main())
