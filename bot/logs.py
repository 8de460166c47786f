"""Logging set-up: one plain format, quiet HTTP libraries, and the bot token scrubbed from every line.

httpx logs each request URL at INFO, and Bot API URLs contain the token, so it is held at WARNING. Libraries'
tracebacks are dropped unless LOG_LEVEL=DEBUG: a start-up failure is one line from the library and one from us.
The secrets filter is the second line of defence: it rewrites any record (message, arguments or traceback) that
still holds a secret, e.g. PTB's ``InvalidToken`` message, which quotes the token.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"


class LibraryTracebacksOff(logging.Filter):
    """Drop the tracebacks libraries attach to their records (python-telegram-bot logs a full one for a rejected
    token or an unreachable Bot API): the bot then says what is wrong in one line. LOG_LEVEL=DEBUG keeps them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("bot"):
            record.exc_info, record.exc_text = None, None
        return True


class RedactSecrets(logging.Filter):
    """Replace each secret in a record's final text (and its traceback) with ``[redacted]``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [secret for secret in secrets if secret]

    def _scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._scrub(record.getMessage())
        record.args = None
        if record.exc_info:
            # Format the traceback now, scrubbed; formatters reuse exc_text instead of formatting exc_info again.
            record.exc_text = self._scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self._scrub(record.stack_info)
        return True


def configure_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """Log to stderr: the bot's own loggers at ``level``, libraries at INFO or above, httpx at WARNING."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    if level != "DEBUG":
        handler.addFilter(LibraryTracebacksOff())
    handler.addFilter(RedactSecrets(secrets))
    # DEBUG in the libraries would log whole Bot API requests (file ids, captions) and image decoding: not theirs.
    logging.basicConfig(level=max(logging.getLevelName(level), logging.INFO), handlers=[handler], force=True)
    logging.getLogger("bot").setLevel(level)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
