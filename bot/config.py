"""The bot's settings, read once from the environment (``.env`` is loaded by ``main`` before this runs).

Every variable is listed, with a comment, in ``.env.example``. Only ``TELEGRAM_BOT_TOKEN`` is required; a bad or
missing value raises ``ConfigError`` with a one-line message that names the variable and says what to do.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORT = 8443
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")  # the characters Telegram accepts in a webhook secret


class ConfigError(ValueError):
    """A missing or malformed environment variable; the message is meant to be shown as is."""


@dataclass(frozen=True)
class Config:
    token: str
    base_url: str | None = None  # local Bot API server, e.g. http://localhost:8081/bot
    base_file_url: str | None = None  # e.g. http://localhost:8081/file/bot
    webhook_url: str | None = None  # set → webhook mode, unset → long polling
    webhook_listen: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    webhook_secret: str | None = None  # unset with a webhook → random per start (setWebhook runs at every start)
    log_level: str = "INFO"

    @property
    def webhook_path(self) -> str:
        """The path part of ``WEBHOOK_URL`` that the built-in web server listens on (``""`` for the root)."""
        return urlsplit(self.webhook_url or "").path.strip("/")

    def __repr__(self) -> str:  # the token must never end up in a log line or a traceback
        return f"Config(webhook={'yes' if self.webhook_url else 'no'}, base_url={self.base_url!r}, port={self.port})"


def _optional(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def _url(environ: Mapping[str, str], name: str) -> str | None:
    value = _optional(environ, name)
    if value is not None and urlsplit(value).scheme not in ("http", "https"):
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    return value


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """Build the ``Config`` from ``environ`` (default: ``os.environ``), or raise ``ConfigError``."""
    environ = os.environ if environ is None else environ
    token = _optional(environ, "TELEGRAM_BOT_TOKEN")
    if token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: get one from @BotFather, put it in the environment or .env")

    base_url = _url(environ, "TELEGRAM_BASE_URL")
    # PTB appends the token to base_url, so a URL that does not end in /bot (or hold {token}) can never work.
    if base_url is not None and not (base_url.rstrip("/").endswith("/bot") or "{token}" in base_url):
        raise ConfigError(f"TELEGRAM_BASE_URL must end in /bot (e.g. http://localhost:8081/bot), got {base_url!r}")
    # Files live beside the Bot API: a local server's at .../file/bot, as .env.example shows. Left at Telegram's,
    # every download would go to api.telegram.org while the bot talks to another server.
    base_file_url = _url(environ, "TELEGRAM_BASE_FILE_URL")
    if base_url is not None and base_file_url is None and base_url.rstrip("/").endswith("/bot"):
        base_file_url = base_url.rstrip("/")[: -len("/bot")] + "/file/bot"

    port_text = _optional(environ, "PORT") or str(DEFAULT_PORT)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"PORT must be a TCP port number, got {port_text!r}")

    secret = _optional(environ, "WEBHOOK_SECRET")
    if secret is not None and not SECRET_TOKEN.fullmatch(secret):
        raise ConfigError("WEBHOOK_SECRET may only hold 1-256 characters A-Z, a-z, 0-9, _ and -")

    log_level = (_optional(environ, "LOG_LEVEL") or "INFO").upper()
    if log_level not in logging.getLevelNamesMapping():
        raise ConfigError(f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, got {log_level!r}")

    webhook_url = _url(environ, "WEBHOOK_URL")
    if webhook_url is not None and base_url is None and urlsplit(webhook_url).scheme != "https":
        # Telegram itself only posts to HTTPS (a local Bot API server may post to plain HTTP).
        raise ConfigError(f"WEBHOOK_URL must be an https URL for Telegram's Bot API, got {webhook_url!r}")
    if webhook_url is not None and secret is None:
        secret = secrets.token_urlsafe(32)  # Telegram echoes it in a header, so forged updates are refused

    return Config(
        token=token,
        base_url=base_url.rstrip("/") if base_url else None,
        base_file_url=base_file_url.rstrip("/") if base_file_url else None,
        webhook_url=webhook_url,
        webhook_listen=_optional(environ, "WEBHOOK_LISTEN") or "0.0.0.0",
        port=int(port_text),
        webhook_secret=secret,
        log_level=log_level,
    )
