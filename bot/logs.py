"""Logging that never carries a secret (bot tokens and interaction tokens are redacted),
and konomi's output without TensorFlow's start-up chatter."""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile

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


# What TensorFlow's C++ side writes straight to file descriptor 2 as it loads and first looks
# for devices, before any setting can silence it (TF_CPP_MIN_LOG_LEVEL does not reach these).
_TENSORFLOW_CHATTER = re.compile(
    r"All log messages before absl::InitializeLog|cudart_stub\.cc|cpu_feature_guard\.cc"
    r"|To enable the following instructions|Could not find cuda drivers"
    r"|cuda_platform\.cc|failed call to cuInit"
)


def import_keras_quietly() -> None:
    """Import Keras (and TensorFlow under it) with their start-up lines kept out of
    konomi's output; any other line written meanwhile (a real error) is passed on."""
    if "keras" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras

            if keras.config.backend() == "tensorflow":  # its devices are looked for once,
                import tensorflow  # at first use: now, while its lines are caught

                tensorflow.config.list_physical_devices()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines():
                if line.strip() and not _TENSORFLOW_CHATTER.search(line):
                    print(line, file=sys.stderr)
