"""End to end: the real bot ``Application`` long-polls a fake Bot API server on 127.0.0.1; nothing reaches Telegram.

Each test pushes messages as Telegram would, waits for the bot's replies, and checks what a user would see: every
message answered, quoting the message it answers, and no temporary file left behind. Verdict tests compare the
percentage with ``classifier.open_probability`` on the same image, never which label is right.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from PIL import Image

import classifier
from bot import replies
from tests.bot_helpers import VERDICT, encode, eye_image, files_under, model_error, polling_bot
from tests.fake_telegram import FakeTelegram, Sent

needs_model = pytest.mark.skipif(model_error() is not None, reason=f"classifier unavailable: {model_error()}")

Scenario = Callable[[FakeTelegram], Awaitable[None]]


def run_with_bot(tmp_path: Path, scenario: Scenario) -> FakeTelegram:
    """Run ``scenario`` against a polling bot; afterwards check that no temporary file outlived it."""

    async def main() -> FakeTelegram:
        async with FakeTelegram() as fake, polling_bot(fake, tmp_path):
            await scenario(fake)
            assert files_under(tmp_path) == [], "a temporary file was left behind while running"
            assert fake.unknown_methods == []
        return fake

    fake = asyncio.run(main())
    assert list(tmp_path.iterdir()) == [], "the bot's temporary directory was not removed at shutdown"
    return fake


def expected_verdict(tmp_path: Path, data: bytes, suffix: str = ".jpg") -> str:
    """The reply the classifier's own answer for ``data`` makes: openEyeCheck's verdict, open_probability's figure."""
    path = tmp_path.parent / f"expected{suffix}"  # outside the bot's folder, which must stay empty
    path.write_bytes(data)
    try:
        verdict = replies.EyeVerdict(classifier.openEyeCheck(str(path)) == 1, classifier.open_probability(str(path)))
    finally:
        path.unlink()
    return replies.format_reply(verdict)


def assert_verdict(reply: Sent, expected: str) -> None:
    assert VERDICT.match(reply.text), f"not a verdict: {reply.text!r}"
    assert reply.text == expected


def only_reply(fake: FakeTelegram, message: dict) -> Sent:
    found = fake.replies_to(message)
    assert len(found) == 1, f"expected one reply quoting message {message['message_id']}, got {found}"
    return found[0]


@needs_model
def test_photo_gets_verdict_quoting_it_with_typing_first(tmp_path: Path) -> None:
    data = eye_image(1)

    async def scenario(fake: FakeTelegram) -> None:
        message = fake.photo(chat_id=42, data=data)
        [reply] = await fake.wait_for_replies(1)
        assert reply.chat_id == 42 and reply.reply_to == message["message_id"]
        # The largest size was fetched, not the thumbnail Telegram lists first.
        assert [p["file_id"] for p in fake.called("getFile")] == [fake.largest_file_id(message)]
        methods = [name for name, params in fake.calls if name in ("sendChatAction", "sendMessage")]
        assert methods == ["sendChatAction", "sendMessage"]
        assert fake.called("sendChatAction")[0]["action"] == "typing"

    fake = run_with_bot(tmp_path, scenario)
    assert_verdict(fake.sent[0], expected_verdict(tmp_path, data))


@needs_model
def test_image_documents_png_and_webp_get_verdicts(tmp_path: Path) -> None:
    png = encode(Image.open(io.BytesIO(eye_image(2))).resize((96, 96)), "PNG")
    webp = encode(Image.open(io.BytesIO(eye_image(3))), "WEBP")

    async def scenario(fake: FakeTelegram) -> None:
        fake.document(7, png, "eye.png", "image/png")
        fake.document(7, webp, "eye.webp", None)  # no MIME type: the extension decides
        await fake.wait_for_replies(2)

    fake = run_with_bot(tmp_path, scenario)
    by_message = {s.reply_to: s for s in fake.sent}
    assert len(by_message) == 2
    first, second = sorted(by_message)
    assert_verdict(by_message[first], expected_verdict(tmp_path, png, ".png"))
    assert_verdict(by_message[second], expected_verdict(tmp_path, webp, ".webp"))


@needs_model
def test_album_gets_one_reply_per_photo_each_quoting_its_own(tmp_path: Path) -> None:
    images = [eye_image(index) for index in (10, 11, 12, 13)]
    messages: list[dict] = []

    async def scenario(fake: FakeTelegram) -> None:
        for data in images:
            messages.append(fake.photo(5, data, media_group_id="album-1"))
        await fake.wait_for_replies(len(images))
        await asyncio.sleep(0.2)  # nothing more should come

    fake = run_with_bot(tmp_path, scenario)
    assert len(fake.sent) == len(images)
    for message, data in zip(messages, images, strict=True):
        assert_verdict(only_reply(fake, message), expected_verdict(tmp_path, data))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"text": "hello, is my eye open?"}, "a text message"),
        (
            {
                "sticker": {
                    "file_id": "s",
                    "file_unique_id": "s",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                }
            },
            "a sticker",
        ),  # fmt: skip
        ({"voice": {"file_id": "v", "file_unique_id": "v", "duration": 3}}, "a voice message"),
        ({"video": {"file_id": "w", "file_unique_id": "w", "width": 1, "height": 1, "duration": 1}}, "a video"),
        ({"location": {"latitude": 52.5, "longitude": 13.4}}, "a location"),
    ],
)
def test_anything_else_gets_what_the_bot_accepts(tmp_path: Path, content: dict, expected: str) -> None:
    async def scenario(fake: FakeTelegram) -> None:
        message = fake.push(fake.message(3, **content))
        [reply] = await fake.wait_for_replies(1)
        assert reply.reply_to == message["message_id"]
        assert expected in reply.text and "send a photo" in reply.text

    fake = run_with_bot(tmp_path, scenario)
    assert fake.called("getFile") == []


@pytest.mark.parametrize("command", ["/start", "/help"])
def test_start_and_help_explain_what_to_send(tmp_path: Path, command: str) -> None:
    async def scenario(fake: FakeTelegram) -> None:
        fake.text(9, command)
        [reply] = await fake.wait_for_replies(1)
        text = reply.text.lower()
        for phrase in (
            "close-up of one eye",
            "selfie",
            "each face",
            "as a file",
            "open",
            "closed",
            "% sure",
            "not kept",
        ):
            assert phrase in text, phrase

    run_with_bot(tmp_path, scenario)


def test_unknown_command_gets_guidance(tmp_path: Path) -> None:
    async def scenario(fake: FakeTelegram) -> None:
        fake.text(9, "/classify")
        [reply] = await fake.wait_for_replies(1)
        assert "/help" in reply.text and "send a photo" in reply.text

    run_with_bot(tmp_path, scenario)


@pytest.mark.parametrize(
    ("file_name", "mime_type", "expected"),
    [
        ("report.pdf", "application/pdf", "That's a PDF document, not an image."),
        ("eyes.zip", "application/zip", "That's a ZIP archive, not an image."),
        ("clip.mp4", "video/mp4", "That's a video file, not an image."),
        ("notes", None, "That's a file of unknown type, not an image."),
    ],
)
def test_non_image_documents_are_refused_without_download(
    tmp_path: Path, file_name: str, mime_type: str | None, expected: str
) -> None:
    async def scenario(fake: FakeTelegram) -> None:
        message = fake.document(4, b"%PDF-1.7 not an image", file_name, mime_type)
        [reply] = await fake.wait_for_replies(1)
        assert reply.reply_to == message["message_id"]
        assert reply.text.startswith(expected) and "send a photo" in reply.text

    fake = run_with_bot(tmp_path, scenario)
    assert fake.called("getFile") == [] and fake.downloads == []


def broken_images() -> list[tuple[str, str, bytes, str]]:
    jpeg = eye_image(0)
    png = encode(Image.open(io.BytesIO(jpeg)).resize((64, 64)), "PNG")
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)  # a HEIF header Pillow cannot decode
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24"><circle r="5"/></svg>'
    return [
        ("truncated.jpg", "image/jpeg", jpeg[: len(jpeg) // 2], "damaged or truncated"),
        ("cut.png", "image/png", png[: len(png) * 2 // 3], "damaged or truncated"),
        ("garbage.png", "image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not an image"),
        ("empty.jpg", "image/jpeg", b"", "empty (0 bytes)"),
        ("photo.heic", "image/heic", heic, "not an image"),
        ("drawing.svg", "image/svg+xml", svg, "not an image"),
        ("text.jpg", "image/jpeg", b"just some text pretending to be a jpeg", "not an image"),
    ]


@needs_model
@pytest.mark.parametrize(("file_name", "mime_type", "data", "reason"), broken_images(), ids=lambda v: str(v)[:14])
def test_unreadable_images_get_the_reason(tmp_path: Path, file_name: str, mime_type: str, data: bytes, reason: str):
    async def scenario(fake: FakeTelegram) -> None:
        message = fake.document(6, data, file_name, mime_type)
        [reply] = await fake.wait_for_replies(1)
        assert reply.reply_to == message["message_id"]
        assert reply.text.startswith("I couldn't read that image.") and reason in reply.text, reply.text
        assert str(tmp_path) not in reply.text and "eye-" not in reply.text  # no server paths shown

    run_with_bot(tmp_path, scenario)


@needs_model
def test_corrupt_compressed_photo_gets_the_reason(tmp_path: Path) -> None:
    async def scenario(fake: FakeTelegram) -> None:
        message = fake.photo(8, eye_image(0)[:40])
        [reply] = await fake.wait_for_replies(1)
        assert reply.reply_to == message["message_id"] and reply.text.startswith("I couldn't read that image.")

    run_with_bot(tmp_path, scenario)


def test_file_over_20_mb_is_refused_from_metadata_without_download(tmp_path: Path) -> None:
    async def scenario(fake: FakeTelegram) -> None:
        big = 20 * 1024 * 1024 + 1
        document = fake.document(2, eye_image(0), "huge.png", "image/png", file_size=big)
        photo = fake.photo(2, eye_image(0), file_size=25_000_000)
        await fake.wait_for_replies(2)
        for message in (document, photo):
            assert only_reply(fake, message).text == replies.TOO_BIG

    fake = run_with_bot(tmp_path, scenario)
    assert fake.called("getFile") == [] and fake.downloads == []
    assert "20 MB" in replies.TOO_BIG


def test_too_big_reported_by_get_file_is_explained(tmp_path: Path) -> None:
    # Telegram's own refusal, for a file whose size the message did not state correctly.
    async def scenario(fake: FakeTelegram) -> None:
        fake.fail["getFile"] = (400, "Bad Request: file is too big")
        message = fake.photo(2, eye_image(0))
        await fake.wait_for_replies(1)
        assert only_reply(fake, message).text == replies.TOO_BIG

    run_with_bot(tmp_path, scenario)


@pytest.mark.parametrize(
    "failure", [("getFile", 500, "Internal Server Error"), ("getFile", 400, "Bad Request: invalid file_id"), "download"]
)
def test_failed_fetch_still_gets_an_answer(tmp_path: Path, failure: tuple | str) -> None:
    async def scenario(fake: FakeTelegram) -> None:
        message = fake.photo(11, eye_image(0))
        if failure == "download":
            fake.broken_downloads.add(fake.largest_file_id(message))  # getFile works, the download answers 500
        else:
            method, code, description = failure
            fake.fail[method] = (code, description)
        await fake.wait_for_replies(1)
        assert only_reply(fake, message).text == replies.DOWNLOAD_FAILED

    run_with_bot(tmp_path, scenario)


def test_unexpected_classifier_failure_is_logged_and_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(path: str) -> float:
        assert Path(path).is_file()  # the photo was saved before the classifier was called
        raise RuntimeError("simulated classifier crash")

    monkeypatch.setattr(classifier, "open_probability", explode)

    async def scenario(fake: FakeTelegram) -> None:
        message = fake.photo(12, eye_image(0))
        await fake.wait_for_replies(1)
        assert only_reply(fake, message).text == replies.SOMETHING_WENT_WRONG

    run_with_bot(tmp_path, scenario)
    failures = [r for r in caplog.records if r.levelname == "ERROR" and r.name == "bot.app"]
    assert failures and "simulated classifier crash" in str(failures[0].exc_info[1])


def test_inference_runs_off_the_event_loop_and_updates_concurrently(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A slow classifier must hold up neither other chats nor the text reply sent meanwhile.
    def slow_probability(path: str) -> float:
        time.sleep(1.0)
        return 0.975

    monkeypatch.setattr(classifier, "open_probability", slow_probability)

    async def scenario(fake: FakeTelegram) -> None:
        start = time.perf_counter()
        photo_a, photo_b = fake.photo(21, eye_image(0)), fake.photo(22, eye_image(1))
        text = fake.text(23, "hi")
        await fake.wait_for_replies(1)
        assert fake.sent[0].reply_to == text["message_id"], "the text waited for the photos"
        assert fake.sent[0].at - start < 0.8
        await fake.wait_for_replies(3)
        both = time.perf_counter() - start
        assert both < 1.9, f"two 1 s inferences took {both:.2f}s: they ran one after the other"
        for message in (photo_a, photo_b):
            assert only_reply(fake, message).text == "Open — 97% sure"

    run_with_bot(tmp_path, scenario)


def test_flood_guard_answers_once_then_stays_quiet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(classifier, "open_probability", lambda path: 0.03)

    async def scenario(fake: FakeTelegram) -> None:
        for _ in range(25):
            fake.photo(31, eye_image(0))
        fake.photo(32, eye_image(0))  # another chat is not affected
        await fake.wait_for_replies(22)
        await asyncio.sleep(0.5)  # the 4 dropped photos must stay unanswered

    fake = run_with_bot(tmp_path, scenario)
    texts = [s.text for s in fake.sent if s.chat_id == 31]
    assert texts.count("Closed — 97% sure") == 20
    assert texts.count(replies.SLOW_DOWN) == 1
    assert len(texts) == 21
    assert [s.text for s in fake.sent if s.chat_id == 32] == ["Closed — 97% sure"]


def test_group_chatter_is_ignored_but_commands_answered(tmp_path: Path) -> None:
    async def scenario(fake: FakeTelegram) -> None:
        group = {"id": -100123, "type": "supergroup", "title": "family"}
        command = [{"type": "bot_command", "offset": 0, "length": 5}]
        fake.push(fake.message(55, text="lol") | {"chat": group})
        help_message = fake.push(fake.message(55, text="/help", entities=command) | {"chat": group})
        [reply] = await fake.wait_for_replies(1)
        assert reply.reply_to == help_message["message_id"] and reply.text == replies.HELP
        await asyncio.sleep(0.3)

    fake = run_with_bot(tmp_path, scenario)
    assert len(fake.sent) == 1


def test_group_chatter_neither_answered_nor_counted_by_the_flood_guard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(classifier, "open_probability", lambda path: 0.03)
    group = {"id": -100456, "type": "group", "title": "friends"}

    async def scenario(fake: FakeTelegram) -> None:
        other_bot = [{"type": "bot_command", "offset": 0, "length": 15}]
        for _ in range(25):  # over the 20-a-minute limit, if chatter counted
            fake.push(fake.message(56, text="lol") | {"chat": group})
            fake.push(fake.message(56, text="/start@otherbot", entities=other_bot) | {"chat": group})
        pdf = fake.add_file(b"%PDF-1.7 not an image") | {"file_name": "minutes.pdf", "mime_type": "application/pdf"}
        fake.push(fake.message(56, document=pdf) | {"chat": group})
        full = fake.add_file(eye_image(0)) | {"width": 24, "height": 24}
        photo = fake.push(fake.message(56, photo=[full]) | {"chat": group})
        [reply] = await fake.wait_for_replies(1)
        assert reply.reply_to == photo["message_id"] and reply.text == "Closed — 97% sure"
        await asyncio.sleep(0.3)

    fake = run_with_bot(tmp_path, scenario)
    assert [s.text for s in fake.sent] == ["Closed — 97% sure"]


def test_stopping_finishes_the_answers_in_flight(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What SIGTERM does in production (run_polling stops the same way): nothing already received goes unanswered.
    def slow_probability(path: str) -> float:
        time.sleep(0.5)
        return 0.0

    monkeypatch.setattr(classifier, "open_probability", slow_probability)

    async def main() -> FakeTelegram:
        async with FakeTelegram() as fake:
            async with polling_bot(fake, tmp_path):
                message = fake.photo(61, eye_image(0))
                while not fake.downloads:  # the photo is being classified when the stop begins
                    await asyncio.sleep(0.01)
            assert [s.reply_to for s in fake.sent] == [message["message_id"]]
            assert fake.sent[0].text == "Closed — 99% sure"
        return fake

    asyncio.run(main())
    assert list(tmp_path.iterdir()) == []


@needs_model
def test_face_photo_gets_one_line_per_face_and_a_photo_with_no_face_says_so(tmp_path: Path) -> None:
    data = pytest.importorskip("skimage.data")
    face = encode(Image.fromarray(data.astronaut()), "JPEG")  # a real portrait shipped inside scikit-image
    cat = encode(Image.fromarray(data.chelsea()), "JPEG")

    async def scenario(fake: FakeTelegram) -> None:
        fake.photo(9, face)
        fake.photo(9, cat)
        await fake.wait_for_replies(2)

    fake = run_with_bot(tmp_path, scenario)
    face_reply, cat_reply = sorted(fake.sent, key=lambda s: s.reply_to)
    path = tmp_path.parent / "astronaut.jpg"
    path.write_bytes(face)
    assert face_reply.text == replies.format_reply(classifier.analyze_photo(path))
    assert face_reply.text.startswith("Face 1: left eye ") and "right eye" in face_reply.text
    assert cat_reply.text.startswith("No face or eye found")
