"""``python -m bot`` as a real process, configured only through the environment and ``.env``, against the fake server.

Covers what only a whole process shows: configuration errors, the model warm-up, long polling and webhook mode,
SIGTERM stopping cleanly with exit code 0, the private temporary directory, and the token never being logged.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from tests.bot_helpers import REPO, VERDICT, bot_env, eye_image, files_under, model_error
from tests.fake_telegram import FakeTelegram

needs_model = pytest.mark.skipif(model_error() is not None, reason=f"classifier unavailable: {model_error()}")
START_TIMEOUT = 90  # importing torch and warming the model up on a busy 2-core machine


async def until(condition: Callable[[], bool], timeout: float, what: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.returncode is not None:
            raise AssertionError(f"the bot exited with {process.returncode} while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


async def start_bot(env: dict[str, str], cwd: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )


async def stop_bot(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(process.wait(), 30)
    except TimeoutError:
        process.kill()
        raise


def bot_dirs(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("eyebot-*"))


@needs_model
def test_polling_process_answers_a_photo_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    tmp, log = tmp_path / "tmp", tmp_path / "bot.log"
    tmp.mkdir()

    async def main() -> None:
        async with FakeTelegram() as fake:
            # The URLs come from ./.env, the token from the real environment: both sources are read.
            env = bot_env(fake, TMPDIR=str(tmp))
            (tmp_path / ".env").write_text(
                "# test settings\n"
                f"TELEGRAM_BASE_URL={env.pop('TELEGRAM_BASE_URL')}\n"
                f"TELEGRAM_BASE_FILE_URL={env.pop('TELEGRAM_BASE_FILE_URL')}\n"
            )
            process = await start_bot(env, tmp_path, log)
            try:
                await until(lambda: fake.called("getUpdates"), START_TIMEOUT, "the first getUpdates", process)
                message = fake.photo(100, eye_image(4))
                [reply] = await fake.wait_for_replies(1, timeout=30)
                assert reply.reply_to == message["message_id"] and VERDICT.match(reply.text), reply.text
                [workdir] = bot_dirs(tmp)
                assert files_under(workdir) == [], "the photo's temporary file outlived its reply"
            finally:
                code = await stop_bot(process)
            assert code == 0, log.read_text()

    asyncio.run(main())
    output = log.read_text()
    assert "online as @" in output and "long-polling mode" in output and "stopped" in output
    assert FakeTelegram().token not in output
    assert "HTTP Request" not in output  # httpx's per-request lines (with URLs) are silenced
    assert bot_dirs(tmp) == [], "the private temporary directory was not removed at shutdown"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@needs_model
def test_webhook_process_checks_the_secret_answers_and_exits_0(tmp_path: Path) -> None:
    port, secret, log = free_port(), "test-secret_0123456789", tmp_path / "bot.log"

    async def main() -> None:
        async with FakeTelegram() as fake:
            url = f"http://127.0.0.1:{port}/telegram-hook"
            env = bot_env(fake, WEBHOOK_URL=url, PORT=str(port), WEBHOOK_LISTEN="127.0.0.1", WEBHOOK_SECRET=secret)
            process = await start_bot(env, tmp_path, log)
            try:
                await until(lambda: fake.webhook, START_TIMEOUT, "setWebhook", process)
                assert fake.webhook["url"] == url and fake.webhook["secret_token"] == secret
                assert fake.webhook["allowed_updates"] == ["message"]
                message = fake.message(200, text="hello")
                for _ in range(50):  # the web server may still be coming up
                    try:
                        assert await fake.deliver_to_webhook(message, secret="wrong") == 403
                        break
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.1)
                assert await fake.deliver_to_webhook(message, secret=None) == 403
                assert fake.sent == []
                photo = fake.message(200, photo=[fake.add_file(eye_image(5)) | {"width": 24, "height": 24}])
                assert await fake.deliver_to_webhook(photo, secret=secret) == 200
                [reply] = await fake.wait_for_replies(1, timeout=30)
                assert reply.reply_to == photo["message_id"] and VERDICT.match(reply.text), reply.text
                assert fake.called("getUpdates") == []
            finally:
                code = await stop_bot(process)
            assert code == 0, log.read_text()

    asyncio.run(main())
    output = log.read_text()
    assert "webhook mode" in output and FakeTelegram().token not in output and secret not in output


def run_bot_briefly(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot"], env=env, cwd=cwd, capture_output=True, text=True, timeout=START_TIMEOUT
    )


def test_missing_token_is_one_clear_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_"))}
    env["PYTHONPATH"] = str(REPO)
    result = run_bot_briefly(env, tmp_path)  # tmp_path: no .env to pick a token up from
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: TELEGRAM_BOT_TOKEN is not set: get one from @BotFather, put it in the environment or .env"
    ]


def test_bad_base_url_is_one_clear_line(tmp_path: Path) -> None:
    env = bot_env(FakeTelegram(), TELEGRAM_BASE_URL="http://127.0.0.1:9/api")
    result = run_bot_briefly(env, tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: TELEGRAM_BASE_URL must end in /bot (e.g. http://localhost:8081/bot), got 'http://127.0.0.1:9/api'"
    ]


@needs_model
def test_rejected_token_exits_with_a_clear_error_and_never_prints_the_token(tmp_path: Path) -> None:
    wrong = "987654321:WRONG-token-that-must-never-be-printed"

    async def main() -> subprocess.CompletedProcess[str]:
        async with FakeTelegram() as fake:  # answers 401 to any other token, as Telegram does
            env = bot_env(fake, TELEGRAM_BOT_TOKEN=wrong, LOG_LEVEL="DEBUG")
            return await asyncio.to_thread(run_bot_briefly, env, tmp_path)

    result = asyncio.run(main())
    assert result.returncode == 1
    assert wrong not in result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: Telegram rejected TELEGRAM_BOT_TOKEN; copy it again from @BotFather"
    )


@needs_model
def test_rejected_token_without_debug_is_at_most_two_lines_and_no_traceback(tmp_path: Path) -> None:
    async def main() -> subprocess.CompletedProcess[str]:
        async with FakeTelegram() as fake:
            env = bot_env(fake, TELEGRAM_BOT_TOKEN="987654321:WRONG-token")
            return await asyncio.to_thread(run_bot_briefly, env, tmp_path)

    result = asyncio.run(main())
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1
    assert 1 <= len(lines) <= 2 and "Traceback" not in result.stderr, result.stderr
    assert lines[-1] == "error: Telegram rejected TELEGRAM_BOT_TOKEN; copy it again from @BotFather"


@needs_model
def test_a_webhook_the_bot_api_refuses_is_named_as_refused_not_as_unreachable(tmp_path: Path) -> None:
    async def main() -> subprocess.CompletedProcess:
        async with FakeTelegram() as fake:
            fake.fail["setWebhook"] = (400, "Bad Request: bad webhook: an HTTPS URL must be provided for webhook")
            env = bot_env(fake, WEBHOOK_URL="http://example.invalid/hook", PORT=str(free_port()))
            return await asyncio.to_thread(run_bot_briefly, env, tmp_path)

    result = asyncio.run(main())
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[-1].startswith("error: the Telegram Bot API refused the bot's start (")
    assert "an https url must be provided" in lines[-1].lower() and lines[-1].endswith("check WEBHOOK_URL")


@needs_model
def test_unreachable_bot_api_is_at_most_two_lines_naming_it(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    env = bot_env(
        FakeTelegram(),
        TELEGRAM_BASE_URL=f"http://127.0.0.1:{port}/bot",
        TELEGRAM_BASE_FILE_URL=f"http://127.0.0.1:{port}/file/bot",
    )
    result = run_bot_briefly(env, tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1
    assert 1 <= len(lines) <= 2 and "Traceback" not in result.stderr, result.stderr
    assert lines[-1].startswith(f"error: cannot reach the Telegram Bot API at http://127.0.0.1:{port}/bot")
