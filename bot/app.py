"""Telegram front end of the eye classifier: a photo in, "Open"/"Closed" with a confidence out.

Flow of one picture:
  1. ``flood_guard`` (runs first for every message) lets at most 20 messages a minute through per chat;
  2. ``on_photo`` takes the largest size Telegram made, ``on_document`` checks that the file is an image;
  3. ``check_picture`` refuses files over Telegram's 20 MB bot download limit from the metadata alone, shows
     "typing…", downloads the file and hands it to ``bot.classify`` in a worker thread, which saves it to a
     temporary file, calls ``classifier.analyze_photo`` (faces, or one eye: then ``classifier.openEyeCheck``) and
     deletes it;
  4. the answer (``bot.replies.format_reply``) quotes the message it answers, so album photos never mix up.
Anything else gets a reply saying what the bot accepts; any failure gets a reply saying what went wrong.

Run it with ``python -m bot`` (long polling, or a webhook when ``WEBHOOK_URL`` is set); settings come from the
environment or ``.env``, see ``.env.example``. Ctrl-C or SIGTERM stops it cleanly.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dotenv import find_dotenv, load_dotenv
from telegram import Document, Message, PhotoSize, Update
from telegram.constants import ChatAction, ChatType, MessageEntityType
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import replies
from bot.classify import UnreadableImageError, classify_image, warm_up
from bot.config import Config, ConfigError, load_config
from bot.flood import Decision, FloodGuard
from bot.logs import configure_logging
from bot.ratelimit import RepliesFirstRateLimiter
from bot.transport import AiohttpRequest
from classifier.images import IMAGE_SUFFIXES

logger = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = replies.MAX_DOWNLOAD_MB * 1024 * 1024
CONCURRENT_UPDATES = 64  # in flight at once; bounds memory (each holds at most one downloaded file)
INFERENCE_THREADS = 2  # the machine's cores; more threads would only contend for them
COMMANDS = ("start", "help")  # both answered with the help text


@dataclass
class Runtime:
    """What the handlers share, kept in ``application.bot_data["runtime"]``."""

    flood_guard: FloodGuard
    executor: ThreadPoolExecutor
    workdir_parent: Path | None  # None: the system temp directory
    transports: tuple[AiohttpRequest, ...] = ()
    workdir: Path | None = None  # private directory for the temporary files, made at start, removed at stop


def runtime(context: ContextTypes.DEFAULT_TYPE) -> Runtime:
    return context.bot_data["runtime"]


async def answer(message: Message, text: str) -> None:
    """Reply quoting ``message`` (in private chats too), so every answer is tied to its picture."""
    await message.reply_text(text, do_quote=True)


async def flood_guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Group -1: runs before every handler; stops the update when the chat is flooding.

    In a group only what the bot answers counts (pictures and commands): chatter it ignores must not use up the
    chat's budget, nor earn a "slow down" quoting somebody's plain message.
    """
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    if chat.type != ChatType.PRIVATE and not (
        message.photo or is_image_document(message.document) or is_our_command(message, context.bot.username)
    ):
        return
    decision = runtime(context).flood_guard.check(chat.id)
    if decision is Decision.ALLOW:
        return
    if decision is Decision.WARN:
        logger.info("chat %s is over the flood limit; answering once, then dropping", chat.id)
        await answer(message, replies.SLOW_DOWN)
    raise ApplicationHandlerStop


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start and /help."""
    await answer(update.effective_message, replies.HELP)


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A compressed photo: Telegram sends several sizes, the last is the largest."""
    await check_picture(update.effective_message, context, update.effective_message.photo[-1], ".jpg")


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An uncompressed file: checked as an image if its MIME type or extension says it is one."""
    message = update.effective_message
    document = message.document
    if not is_image_document(document):
        if message.chat.type == ChatType.PRIVATE:  # in a group somebody's PDF is not addressed to the bot
            await answer(message, replies.not_an_image(document.mime_type))
        return
    extension = PurePosixPath(document.file_name or "").suffix.lower()
    mime_type = (document.mime_type or "").lower()
    suffix = extension if extension in IMAGE_SUFFIXES else (mimetypes.guess_extension(mime_type) or ".img")
    await check_picture(message, context, document, suffix)


def is_image_document(document: Document | None) -> bool:
    """A file sent as a document that says it is an image, by its MIME type or its extension."""
    if document is None:
        return False
    extension = PurePosixPath(document.file_name or "").suffix.lower()
    return (document.mime_type or "").lower().startswith("image/") or extension in IMAGE_SUFFIXES


def is_our_command(message: Message, username: str | None) -> bool:
    """The message starts with a command this bot answers: /start or /help, bare or addressed to it."""
    for entity in message.entities:
        if entity.type == MessageEntityType.BOT_COMMAND and entity.offset == 0:
            name, _, addressee = (message.text or "")[: entity.length].partition("@")
            return name[1:].lower() in COMMANDS and addressee.lower() in ("", (username or "").lower())
    return False


async def on_anything_else(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text, stickers, voice, video, unknown commands…: say what the bot takes."""
    await answer(update.effective_message, replies.not_a_picture(update.effective_message))


async def check_picture(
    message: Message, context: ContextTypes.DEFAULT_TYPE, attachment: PhotoSize | Document, suffix: str
) -> None:
    """Download one picture, classify it off the event loop, answer with the verdict or the reason it failed."""
    if attachment.file_size and attachment.file_size > MAX_DOWNLOAD_BYTES:
        await answer(message, replies.TOO_BIG)  # decided from the metadata: no download attempted
        return
    await show_typing(message)
    try:
        telegram_file = await attachment.get_file()
        data = await telegram_file.download_as_bytearray()
    except BadRequest as error:
        too_big = "too big" in error.message.lower()  # Telegram's words when file_size was missing or wrong
        logger.warning("could not fetch a file from Telegram: %s", error.message)
        await answer(message, replies.TOO_BIG if too_big else replies.DOWNLOAD_FAILED)
        return
    except TelegramError as error:
        logger.warning("could not fetch a file from Telegram: %s", error)
        await answer(message, replies.DOWNLOAD_FAILED)
        return

    state = runtime(context)
    loop = asyncio.get_running_loop()
    try:
        verdict = await loop.run_in_executor(state.executor, classify_image, data, state.workdir, suffix)
        text = replies.format_reply(verdict)
    except UnreadableImageError as error:
        text = replies.unreadable_image(str(error))
    del data  # not needed while the answer waits for its turn at the rate limiter
    await answer(message, text)


async def show_typing(message: Message) -> None:
    """Cosmetic "typing…"; a failure here must not cost the user the answer."""
    try:
        await message.reply_chat_action(ChatAction.TYPING)
    except Exception as error:  # noqa: BLE001 - whatever it is (Telegram, the rate limiter), the answer goes on
        logger.debug("typing action failed: %s", error)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log any failure (no message contents) and, if it came from a message, tell its sender."""
    update_id = update.update_id if isinstance(update, Update) else None
    logger.error("failure while handling update %s", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_message:
        try:
            await answer(update.effective_message, replies.SOMETHING_WENT_WRONG)
        except TelegramError as error:
            logger.error("could not tell the user about it either: %s", error)


async def start_runtime(application: Application) -> None:
    """post_init (Telegram has accepted the token): the private temporary directory, the command menu users see."""
    state: Runtime = application.bot_data["runtime"]
    logger.info("online as @%s, %s", application.bot.username, application.bot_data.get("mode", "long polling"))
    state.workdir = Path(tempfile.mkdtemp(prefix="eyebot-", dir=state.workdir_parent))
    try:
        await application.bot.set_my_commands([("help", "what to send and what the answer means")])
    except TelegramError as error:  # nice to have; not worth refusing to start
        logger.warning("could not set the command menu: %s", error)


async def stop_runtime(application: Application) -> None:
    """post_shutdown: finish running inferences (they delete their own files), then remove the directory."""
    state: Runtime = application.bot_data["runtime"]
    for transport in state.transports:  # PTB skips this when start-up failed (e.g. a rejected token)
        await transport.shutdown()
    state.executor.shutdown(wait=True, cancel_futures=True)
    if state.workdir is not None:
        shutil.rmtree(state.workdir, ignore_errors=True)


def build_application(config: Config, *, rate_limit: bool = True, workdir_parent: Path | None = None) -> Application:
    """The configured ``Application`` with every handler wired; ``rate_limit=False`` only for benchmarks."""
    transports = (AiohttpRequest(), AiohttpRequest(connection_pool_size=1))  # lighter than httpx: bot.transport
    builder = (
        ApplicationBuilder()
        .token(config.token)
        .defaults(Defaults(allow_sending_without_reply=True))  # answer even if the photo was deleted meanwhile
        .concurrent_updates(CONCURRENT_UPDATES)
        .request(transports[0])
        .get_updates_request(transports[1])
        .post_init(start_runtime)
        .post_shutdown(stop_runtime)
    )
    if rate_limit:
        builder = builder.rate_limiter(RepliesFirstRateLimiter(max_retries=2))
    if config.base_url:
        builder = builder.base_url(config.base_url)
    if config.base_file_url:
        builder = builder.base_file_url(config.base_file_url)
    application = builder.build()

    application.bot_data["runtime"] = Runtime(
        flood_guard=FloodGuard(limit=20, window=60.0),
        executor=ThreadPoolExecutor(max_workers=INFERENCE_THREADS, thread_name_prefix="classify"),
        workdir_parent=workdir_parent,
        transports=transports,
    )
    new_messages = filters.UpdateType.MESSAGE
    application.add_handler(TypeHandler(Update, flood_guard), group=-1)
    application.add_handler(CommandHandler(list(COMMANDS), help_command, filters=new_messages))
    application.add_handler(MessageHandler(new_messages & filters.PHOTO, on_photo))
    application.add_handler(MessageHandler(new_messages & filters.Document.ALL, on_document))
    # In groups the bot only speaks when spoken to with a picture or a command; chatter gets no guidance.
    application.add_handler(
        MessageHandler(new_messages & filters.ChatType.PRIVATE & ~filters.StatusUpdate.ALL, on_anything_else)
    )
    application.add_error_handler(on_error)
    return application


def run(application: Application, config: Config) -> None:
    """Serve until SIGTERM/SIGINT: long polling, or a webhook when ``WEBHOOK_URL`` is set."""
    allowed = [Update.MESSAGE]  # edits, reactions, polls…: nothing the bot answers
    if config.webhook_url:
        where = f"{config.webhook_listen}:{config.port}/{config.webhook_path}"
        application.bot_data["mode"] = f"webhook mode on {where}"
        application.run_webhook(
            listen=config.webhook_listen,
            port=config.port,
            url_path=config.webhook_path,
            webhook_url=config.webhook_url,
            secret_token=config.webhook_secret,  # checked on every incoming update
            allowed_updates=allowed,
            bootstrap_retries=3,
        )
    else:
        application.bot_data["mode"] = "long-polling mode"
        application.run_polling(allowed_updates=allowed, bootstrap_retries=3)


def main() -> None:
    load_dotenv(find_dotenv(usecwd=True))  # ./.env (or a parent's), if present; real environment variables win
    try:
        config = load_config()
    except ConfigError as error:
        sys.exit(f"error: {error}")
    configure_logging(config.log_level, secrets=[config.token, config.webhook_secret or ""])

    logger.debug("loading the classifier")
    with tempfile.TemporaryDirectory(prefix="eyebot-warm-up-") as scratch:
        try:
            warm_up(Path(scratch))
        except (FileNotFoundError, ValueError) as error:
            sys.exit(f"error: the classifier cannot start: {error}")

    try:
        run(build_application(config), config)
    except InvalidToken:
        sys.exit("error: Telegram rejected TELEGRAM_BOT_TOKEN; copy it again from @BotFather")
    except BadRequest as error:  # a NetworkError to PTB, but the Bot API did answer: it refused what we sent
        setting = "WEBHOOK_URL" if config.webhook_url else "TELEGRAM_BASE_URL"
        sys.exit(f"error: the Telegram Bot API refused the bot's start ({error}); check {setting}")
    except NetworkError as error:
        where = config.base_url or "https://api.telegram.org/bot"
        sys.exit(
            f"error: cannot reach the Telegram Bot API at {where} ({error}); check the network, HTTPS_PROXY "
            "and TELEGRAM_BASE_URL"
        )
    except Exception:  # logged through the token-scrubbing handler rather than Python's raw traceback
        logger.exception("the bot stopped on an error")
        sys.exit(1)
    logger.info("stopped")
