"""Shared pieces of the bot tests and the bot benchmark: test images and a real bot polling a fake Telegram."""

from __future__ import annotations

import io
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path

from PIL import Image
from telegram.ext import Application

from bot.app import build_application
from bot.config import Config
from tests.fake_telegram import FakeTelegram

REPO = Path(__file__).resolve().parent.parent
VERDICT = re.compile(r"^((Open|Closed) — \d{1,2}% sure|Hard to tell — \d{1,2}% open)$")


def eyes_dataset() -> Path:
    return Path(os.environ.get("EYES_DATASET", REPO.parent / "shared" / "data" / "EyesDataset"))


def eye_image(index: int = 0) -> bytes:
    """A 24x24 eye crop from the shared pool, or a drawn stand-in (dark disc on skin tone) if it is absent."""
    path = eyes_dataset() / f"{index:06d}.jpg"
    if path.exists():
        return path.read_bytes()
    image = Image.new("L", (24, 24), 170 + index % 40)
    for x in range(24):
        for y in range(24):
            if (x - 12) ** 2 + (y - 12) ** 2 < 20 + index % 15:
                image.putpixel((x, y), 40)
    return encode(image, "JPEG")


def encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


@cache
def model_error() -> str | None:
    """Why the classifier cannot answer here (weights missing), or None when it can."""
    try:
        from classifier import load_model

        load_model()
    except FileNotFoundError as error:
        return str(error)
    return None


def fake_config(fake: FakeTelegram, **overrides: object) -> Config:
    values = {"token": fake.token, "base_url": fake.base_url, "base_file_url": fake.base_file_url} | overrides
    return Config(**values)


def bot_env(fake: FakeTelegram, **extra: str) -> dict[str, str]:
    """The environment for ``python -m bot`` against ``fake`` (the parent's, without any real Telegram settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_BASE_URL=fake.base_url,
        TELEGRAM_BASE_FILE_URL=fake.base_file_url,
        LOG_LEVEL="INFO",
        PYTHONPATH=str(REPO),
        PYTHONWARNINGS="ignore::FutureWarning",  # torch.jit deprecation noise
    )
    env.update(extra)
    return env


@asynccontextmanager
async def polling_bot(
    fake: FakeTelegram, workdir_parent: Path, *, rate_limit: bool = True
) -> AsyncIterator[Application]:
    """The real ``Application``, long-polling ``fake`` in this event loop, stopped and shut down on exit.

    The same steps, in the same order, as ``Application.run_polling`` (which would also take over signals).
    """
    application = build_application(fake_config(fake), rate_limit=rate_limit, workdir_parent=workdir_parent)
    await application.initialize()
    await application.post_init(application)
    await application.updater.start_polling(poll_interval=0, timeout=1)
    await application.start()
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
        await application.post_shutdown(application)


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]
