"""Logging that never carries a secret: bot tokens and interaction tokens are redacted."""

from __future__ import annotations

import logging
import re

# Interaction and webhook URLs carry the token as a path segment.
_URL_TOKEN = re.compile(r"(/(?:interactions/\d+|webhooks/\d+)/)[A-Za-z0-9_\-.]{20,}")
# Bot tokens: three base64url parts separated by dots.
_BOT_TOKEN = re.compile(r"[A-Za-z0-9_\-]{20,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{20,}")


class RedactSecrets(logging.Filter):
    """Removes known secrets and anything shaped like a token from every record."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        text = _URL_TOKEN.sub(r"\1[redacted]", text)
        return _BOT_TOKEN.sub("[redacted]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = self.redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def setup_logging(level: str, secrets: list[str]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Loggers whose DEBUG lines carry secrets in shapes no pattern can know: discord.py
    # logs request URLs and payloads, aiosqlite every SQL parameter (interaction
    # tokens are stored for follow-ups). They stay at INFO, even at DEBUG.
    for name in ("discord.http", "discord.gateway", "discord.webhook", "aiosqlite"):
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
