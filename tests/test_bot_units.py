"""The bot's small parts on their own: settings, reply texts, flood guard, log scrubbing, rate limiting."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import time
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.flood import Decision, FloodGuard
from bot.logs import RedactSecrets
from bot.ratelimit import RepliesFirstRateLimiter
from bot.replies import EyeVerdict, format_reply, not_an_image, percent, unreadable_image
from classifier.model import EyeModel
from classifier.photo import Eye, Face, PhotoResult

TOKEN = "123456:SECRET-token"


# ---- configuration ----------------------------------------------------------------------------------------------


def test_config_minimal_is_polling_with_defaults() -> None:
    config = load_config({"TELEGRAM_BOT_TOKEN": f"  {TOKEN} "})
    assert config.token == TOKEN
    assert config.webhook_url is None and config.base_url is None and config.base_file_url is None
    assert config.log_level == "INFO" and config.port == 8443 and config.webhook_secret is None


def test_config_reads_every_variable() -> None:
    config = load_config(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_BASE_URL": "http://localhost:8081/bot/",
            "TELEGRAM_BASE_FILE_URL": "http://localhost:8081/file/bot",
            "WEBHOOK_URL": "https://eyes.example.com/hook/telegram",
            "WEBHOOK_LISTEN": "127.0.0.1",
            "WEBHOOK_SECRET": "abc_DEF-123",
            "PORT": "5000",
            "LOG_LEVEL": "debug",
        }
    )
    assert config.base_url == "http://localhost:8081/bot"  # PTB appends the token right after it
    assert config.base_file_url == "http://localhost:8081/file/bot"
    assert config.webhook_url == "https://eyes.example.com/hook/telegram" and config.webhook_path == "hook/telegram"
    assert (config.webhook_listen, config.port, config.webhook_secret) == ("127.0.0.1", 5000, "abc_DEF-123")
    assert config.log_level == "DEBUG"


def test_config_a_local_bot_api_server_alone_serves_the_files_too_and_may_post_plain_http() -> None:
    config = load_config(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_BASE_URL": "http://localhost:8081/bot",
            "WEBHOOK_URL": "http://10.0.0.5:8443/hook",
        }
    )
    assert config.base_file_url == "http://localhost:8081/file/bot"  # not api.telegram.org's
    assert config.webhook_url == "http://10.0.0.5:8443/hook"


def test_config_webhook_without_secret_gets_a_random_one() -> None:
    environ = {"TELEGRAM_BOT_TOKEN": TOKEN, "WEBHOOK_URL": "https://eyes.example.com/"}
    first, second = load_config(environ), load_config(environ)
    assert first.webhook_path == ""
    assert first.webhook_secret and second.webhook_secret and first.webhook_secret != second.webhook_secret
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,256}", first.webhook_secret)


def test_config_repr_never_shows_the_token() -> None:
    config = load_config({"TELEGRAM_BOT_TOKEN": TOKEN})
    assert TOKEN not in repr(config) and TOKEN not in str(config)


@pytest.mark.parametrize(
    ("environ", "names"),
    [
        ({}, "TELEGRAM_BOT_TOKEN is not set"),
        ({"TELEGRAM_BOT_TOKEN": "   "}, "TELEGRAM_BOT_TOKEN is not set"),
        ({"TELEGRAM_BASE_URL": "http://localhost:8081/"}, "TELEGRAM_BASE_URL must end in /bot"),
        ({"TELEGRAM_BASE_URL": "localhost:8081/bot"}, "TELEGRAM_BASE_URL must be an http(s) URL"),
        ({"WEBHOOK_URL": "eyes.example.com"}, "WEBHOOK_URL must be an http(s) URL"),
        ({"WEBHOOK_URL": "http://eyes.example.com/hook"}, "WEBHOOK_URL must be an https URL"),
        ({"PORT": "eighty"}, "PORT must be a TCP port number"),
        ({"PORT": "70000"}, "PORT must be a TCP port number"),
        ({"WEBHOOK_SECRET": "has spaces"}, "WEBHOOK_SECRET may only hold"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of"),
    ],
)
def test_config_errors_name_the_variable(environ: dict[str, str], names: str) -> None:
    if environ and "TELEGRAM_BOT_TOKEN" not in environ:
        environ = {"TELEGRAM_BOT_TOKEN": TOKEN} | environ
    with pytest.raises(ConfigError, match=names.replace("(", r"\(").replace(")", r"\)")) as error:
        load_config(environ)
    assert "\n" not in str(error.value) and TOKEN not in str(error.value)


def test_config_accepts_a_token_placeholder_base_url() -> None:
    config = load_config({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": "http://api.local/bot{token}/v2"})
    assert config.base_url == "http://api.local/bot{token}/v2"


# ---- reply texts ------------------------------------------------------------------------------------------------


class StandInModel:
    threshold, unsure_below = 0.5, 0.6
    is_open = EyeModel.is_open  # the real rule, on the stand-in's threshold


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> StandInModel:
    from classifier import photo

    stand_in = StandInModel()
    monkeypatch.setattr(photo, "load_model", lambda: stand_in)
    return stand_in


@pytest.mark.parametrize(
    ("is_open", "p_open", "text"),
    [
        (True, 0.97, "Open — 97% sure"),
        (False, 0.03, "Closed — 97% sure"),
        (False, 0.29, "Closed — 71% sure"),
        (True, 0.9996, "Open — 99% sure"),  # rounded down: never "100%"
        (True, 1.0, "Open — 99% sure"),  # nor for a probability that rounds to 1 in float32
        (False, 0.0, "Closed — 99% sure"),
        (True, 0.5, "Hard to tell — 50% open"),  # under the model's confidence floor: no coin-flip verdict
        (False, 0.45, "Hard to tell — 45% open"),
    ],
)
def test_format_reply(model, is_open: bool, p_open: float, text: str) -> None:
    assert format_reply(EyeVerdict(is_open=is_open, p_open=p_open)) == text


def test_percent_floors_without_float_surprises_and_never_says_100() -> None:
    assert [percent(x / 100) for x in range(101)] == [*range(100), 99]


def eye(p_open: float | None, width: float = 30.0) -> Eye:
    return Eye((0, 0, 1, 1), ((0, 0), (1, 0), (1, 1), (0, 1)), width, p_open)


def face(left: float | None, right: float | None) -> Face:
    width = 30.0 if left is not None else 6.0
    return Face((0, 0, 10, 10), eye(left, width), eye(right, width), roll=0.0)


def faces(*pairs: tuple[float | None, float | None], found: int | None = None) -> PhotoResult:
    return PhotoResult("face", tuple(face(*pair) for pair in pairs), None, found or len(pairs))


def test_one_face_gets_a_line_per_eye_and_one_verdict_from_both(model) -> None:
    text = format_reply(faces((0.98, 0.07))).splitlines()
    assert text[0] == "Face 1: left eye open (98%), right eye closed (93%): one eye closed"
    assert "person's own" in text[1]
    assert format_reply(faces((0.9, 0.8))).startswith(
        "Face 1: left eye open (90%), right eye open (80%): eyes open (97% sure)"
    )
    assert ": eyes closed (97% sure)" in format_reply(faces((0.1, 0.2)))
    assert ": hard to tell (50% open)" in format_reply(faces((0.6, 0.4)))


def test_group_photo_and_too_small_faces(model) -> None:
    assert format_reply(faces((0.9, 0.9), (0.8, 0.7))).splitlines()[2] == "Overall: everyone's eyes are open"
    assert "Overall: everyone's eyes are closed" in format_reply(faces((0.1, 0.1), (0.2, 0.3)))
    mixed = format_reply(faces((0.9, 0.9), (0.1, 0.2), (None, None), (0.6, 0.4), found=12)).splitlines()
    assert mixed[2] == "Face 3: too small to judge (eyes 6 px wide, need 10)"
    assert "(8 smaller faces not shown)" in mixed
    assert "Overall: eyes closed on face 2; hard to tell on face 4" in mixed
    small = format_reply(faces((None, None)))
    assert "closer or sharper" in small and "person's own" not in small


def test_close_up_and_nothing_found(model) -> None:
    assert format_reply(PhotoResult("eye_closeup", (), eye(0.2), 0)) == "Eye close-up: Closed — 80% sure"
    assert format_reply(PhotoResult("nothing", (), None, 0)).startswith("No face or eye found in this photo.")


def test_unreadable_image_keeps_the_reason_readable() -> None:
    text = unreadable_image("the file is empty (0 bytes), not an image")
    assert text.startswith("I couldn't read that image. The file is empty (0 bytes), not an image.\n")
    assert unreadable_image("already a sentence.").count("..") == 0
    assert "could not be decoded" in unreadable_image("")


def test_not_an_image_names_common_kinds() -> None:
    assert not_an_image("application/pdf").startswith("That's a PDF document, not an image.")
    assert not_an_image("audio/ogg").startswith("That's an audio file, not an image.")
    assert not_an_image("application/x-msdownload").startswith("That's a file of type application/x-msdownload")
    assert not_an_image(None).startswith("That's a file of unknown type")


# ---- flood guard ------------------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_flood_guard_allows_limit_warns_once_then_drops_until_the_window_frees() -> None:
    clock = Clock()
    guard = FloodGuard(limit=20, window=60, clock=clock)
    decisions = [guard.check(1) for _ in range(25)]
    assert decisions == [Decision.ALLOW] * 20 + [Decision.WARN] + [Decision.DROP] * 4
    assert guard.check(2) is Decision.ALLOW  # other chats are unaffected
    clock.now += 59.9
    assert guard.check(1) is Decision.DROP
    clock.now += 0.2  # the first 20 have left the window
    assert guard.check(1) is Decision.ALLOW
    assert [guard.check(1) for _ in range(20)] == [Decision.ALLOW] * 19 + [Decision.WARN]  # warned again


def test_flood_guard_paced_messages_never_trip() -> None:
    clock = Clock()
    guard = FloodGuard(limit=20, window=60, clock=clock)
    for _ in range(200):  # one every 3.1 s: at most 20 in any minute
        assert guard.check(7) is Decision.ALLOW
        clock.now += 3.1


def test_flood_guard_forgets_idle_chats() -> None:
    clock = Clock()
    guard = FloodGuard(limit=20, window=60, clock=clock)
    for chat in range(1000):
        guard.check(chat)
    assert len(guard) == 1000
    clock.now += 61
    guard.check(5000)  # the first check after a whole window sweeps
    assert len(guard) == 1


# ---- logs -------------------------------------------------------------------------------------------------------


def test_redaction_covers_message_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets([TOKEN, ""]))
    logger = logging.getLogger("test_bot_units.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("GET https://api.telegram.org/bot%s/getMe", TOKEN)
        try:
            raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")
        except RuntimeError:
            logger.exception("startup failed for %s", TOKEN)
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert TOKEN not in output
    assert "bot[redacted]/getMe" in output and "The token `[redacted]` was rejected" in output
    assert "Traceback" in output


# ---- rate limiter -----------------------------------------------------------------------------------------------


def test_typing_is_skipped_while_the_budget_is_busy_but_answers_all_go_through() -> None:
    async def main() -> tuple[list[str], float]:
        limiter = RepliesFirstRateLimiter(overall_max_rate=10, overall_time_period=1)
        sent: list[str] = []

        async def call(endpoint: str) -> bool:
            async def callback() -> bool:
                sent.append(endpoint)
                return True

            return await limiter.process_request(callback, (), {}, endpoint, {"chat_id": 1}, None)

        await call("sendChatAction")  # idle budget: typing is shown
        start = time.monotonic()
        # 15 answers (over the 10/s budget) with a typing action before each, all at once.
        results = await asyncio.gather(*(call(e) for _ in range(15) for e in ("sendChatAction", "sendMessage")))
        assert all(result is True for result in results)
        return sent, time.monotonic() - start

    sent, elapsed = asyncio.run(main())
    assert sent.count("sendMessage") == 15
    assert 1 <= sent.count("sendChatAction") <= 6  # the first, and a few while half the budget was free
    assert elapsed >= 0.5  # the answers themselves are still held to the limit


@pytest.mark.parametrize(
    ("chat_id", "typings"), [(-1001, 3), ("-1001", 3), (1001, 5)], ids=["group", "group id as text", "private"]
)
def test_in_a_group_typing_gives_way_to_answers_within_the_groups_own_budget(chat_id: int | str, typings: int) -> None:
    async def main() -> list[str]:
        # A roomy overall budget, and a group one of 8 a minute (Telegram's: 20), met by a burst of 5 photos.
        limiter = RepliesFirstRateLimiter(overall_max_rate=100, group_max_rate=8, group_time_period=60)
        sent: list[str] = []

        async def call(endpoint: str) -> None:
            async def callback() -> bool:
                sent.append(endpoint)
                return True

            await limiter.process_request(callback, (), {}, endpoint, {"chat_id": chat_id}, None)

        for _ in range(5):  # typing then the answer: with every typing shown, the 5th answer would wait 7.5 s
            await asyncio.wait_for(call("sendChatAction"), 1)
            await asyncio.wait_for(call("sendMessage"), 1)
        return sent

    sent = asyncio.run(main())
    assert sent.count("sendMessage") == 5  # every answer at once
    assert sent.count("sendChatAction") == typings  # in a group, typing only while half its budget is free


def test_requests_without_a_chat_are_not_limited() -> None:
    async def main() -> float:
        limiter = RepliesFirstRateLimiter(overall_max_rate=5, overall_time_period=1)

        async def callback() -> bool:
            return True

        start = time.monotonic()
        for _ in range(50):
            await limiter.process_request(callback, (), {}, "getFile", {"file_id": "x"}, None)
        return time.monotonic() - start

    assert asyncio.run(main()) < 0.5


# ---- deployment files -------------------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent


def test_env_example_lists_exactly_the_variables_the_bot_and_its_classifier_read() -> None:
    read = set(re.findall(r'environ, "([A-Z_]+)"', (REPO / "bot" / "config.py").read_text()))
    listed = set(re.findall(r"^#? ?([A-Z][A-Z_]+)=", (REPO / ".env.example").read_text(), flags=re.MULTILINE))
    assert "TELEGRAM_BOT_TOKEN" in read and "WEBHOOK_URL" in read
    proxy = {"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"}  # read by urllib for bot/transport.py, not by config.py
    from classifier.model import THREADS_ENV  # read by the classifier the bot runs

    assert listed == read | proxy | {THREADS_ENV}


def test_procfile_runs_the_bot_as_a_polling_worker() -> None:
    assert (REPO / "Procfile").read_text().splitlines() == ["worker: python -m bot"]
    assert (REPO / ".python-version").read_text().strip() == "3.11"


def test_main_refuses_to_start_without_the_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import bot.app

    def no_weights(workdir: Path) -> None:
        raise FileNotFoundError("model weights not found: weights/eyenet.npz")

    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setattr(bot.app, "configure_logging", lambda *args, **kwargs: None)  # leave pytest's logging be
    monkeypatch.setattr(bot.app, "warm_up", no_weights)
    monkeypatch.setattr(bot.app, "run", lambda *args: pytest.fail("must not start serving"))
    with pytest.raises(SystemExit) as stopped:
        bot.app.main()
    assert str(stopped.value) == "error: the classifier cannot start: model weights not found: weights/eyenet.npz"


def test_eye_line_follows_the_weights_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    import classifier
    from bot.replies import eye_line

    monkeypatch.setattr(classifier.load_model(), "threshold", 0.7)
    assert eye_line("left", 0.6) == "left eye closed (40%)"
    assert eye_line("right", 0.75) == "right eye open (75%)"
