"""The Discord adapter: the bot (app.py), one cog per feature, the one place errors
become replies, per-member limits, background loops and attachment downloads.

It parses what Discord sends, answers first, calls bot/services for every rule and
renders the result; it never reaches storage itself (tests/test_architecture.py).
"""
