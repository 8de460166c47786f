"""A small fake Telegram Bot API server (aiohttp, 127.0.0.1 only) for end-to-end tests and the load benchmark.

It speaks enough of the Bot API for a real ``telegram.ext.Application`` to run against it through
``base_url``/``base_file_url``: getMe, getUpdates (long polling), deleteWebhook/setWebhook, setMyCommands,
getFile plus the file download, sendMessage, sendChatAction. The test side pushes updates built with
``photo``/``document``/``text`` and reads back what the bot sent (``sent``, ``wait_for_replies``).

    fake = FakeTelegram()
    await fake.start()
    app = build_application(Config(token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url))
    message = fake.photo(chat_id=1, data=jpeg_bytes)
    [reply] = await fake.wait_for_replies(1)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, web

BOT_ID = 777000111


@dataclass
class Sent:
    """One sendMessage call the bot made."""

    chat_id: int
    text: str
    reply_to: int | None  # reply_parameters.message_id
    params: dict[str, Any]
    at: float = field(default_factory=time.perf_counter)


class FakeTelegram:
    def __init__(self, token: str = "123456789:FAKE-token-for-tests_0123456789abcdef") -> None:
        self.token = token
        self.port = 0
        self.updates: list[dict[str, Any]] = []  # not yet confirmed by a getUpdates offset
        self.pushed_at: dict[tuple[int, int], float] = {}  # (chat id, message id) → when it was made available
        self.sent: list[Sent] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []  # every Bot API call, in order
        self.downloads: list[str] = []  # file paths fetched
        self.files: dict[str, bytes] = {}  # file_id → content
        self.fail: dict[str, tuple[int, str]] = {}  # method → (error_code, description) to answer with
        self.broken_downloads: set[str] = set()  # file paths whose download answers 500
        self.webhook: dict[str, Any] = {}
        self.unknown_methods: list[str] = []
        self._ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self._new_reply = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._closing = False

    # ---- server life cycle ------------------------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._api)
        app.router.add_get("/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = self._runner.addresses[0][1]  # the port the OS picked for port=0

    async def stop(self) -> None:
        self._closing = True
        self._new_update.set()  # answer pending long polls now rather than at their timeout
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ---- building and pushing updates -------------------------------------------------------------------------

    def add_file(self, data: bytes, file_size: int | None = None) -> dict[str, Any]:
        """Store ``data`` for download; returns the file fields (``file_size`` may claim something else)."""
        number = next(self._ids)
        file_id = f"file-{number}"
        self.files[file_id] = data
        size = len(data) if file_size is None else file_size
        return {"file_id": file_id, "file_unique_id": f"u{number}", "file_size": size}

    def message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        """A private-chat message from user ``chat_id`` with ``content`` (Bot API field names)."""
        user = {"id": chat_id, "is_bot": False, "first_name": f"User{chat_id}"}
        chat = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
        return {"message_id": next(self._ids), "date": int(time.time()), "chat": chat, "from": user, **content}

    def push(self, message: dict[str, Any]) -> dict[str, Any]:
        """Make ``message`` available to getUpdates; returns it."""
        now = time.perf_counter()
        self.updates.append({"update_id": next(self._ids), "message": message})
        self.pushed_at[message["chat"]["id"], message["message_id"]] = now
        self._new_update.set()
        return message

    def photo(self, chat_id: int, data: bytes, file_size: int | None = None, **extra: Any) -> dict[str, Any]:
        """Push a photo message; like Telegram, with a smaller thumbnail size before the full one."""
        thumb = self.add_file(b"not the largest size")
        thumb.update(width=1, height=1)
        full = self.add_file(data, file_size)
        full.update(width=24, height=24)
        return self.push(self.message(chat_id, photo=[thumb, full], **extra))

    def document(
        self, chat_id: int, data: bytes, file_name: str, mime_type: str | None, file_size: int | None = None
    ) -> dict[str, Any]:
        """Push a file sent as a document."""
        document = self.add_file(data, file_size) | {"file_name": file_name}
        if mime_type is not None:
            document["mime_type"] = mime_type
        return self.push(self.message(chat_id, document=document))

    def text(self, chat_id: int, text: str) -> dict[str, Any]:
        entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}] if text[:1] == "/" else []
        return self.push(self.message(chat_id, text=text, **({"entities": entities} if entities else {})))

    def largest_file_id(self, message: dict[str, Any]) -> str:
        return message["photo"][-1]["file_id"] if "photo" in message else message["document"]["file_id"]

    # ---- reading back what the bot did ------------------------------------------------------------------------

    def replies_to(self, message: dict[str, Any]) -> list[Sent]:
        chat_id = message["chat"]["id"]
        return [s for s in self.sent if s.chat_id == chat_id and s.reply_to == message["message_id"]]

    def called(self, method: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    async def wait_for_replies(self, count: int, timeout: float = 10.0) -> list[Sent]:
        """Wait until the bot has sent at least ``count`` messages; returns them all (fails on timeout)."""
        deadline = time.monotonic() + timeout
        while len(self.sent) < count:
            self._new_reply.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                texts = [s.text for s in self.sent]
                raise AssertionError(f"waited {timeout}s for {count} replies, got {len(self.sent)}: {texts}")
            try:
                await asyncio.wait_for(self._new_reply.wait(), remaining)
            except TimeoutError:
                pass
        return list(self.sent)

    async def deliver_to_webhook(self, message: dict[str, Any], secret: str | None) -> int:
        """POST an update to the URL the bot registered with setWebhook, as Telegram would; returns the status."""
        update = {"update_id": next(self._ids), "message": message}
        self.pushed_at[message["chat"]["id"], message["message_id"]] = time.perf_counter()
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with ClientSession() as session:
            async with session.post(self.webhook["url"], json=update, headers=headers) as response:
                return response.status

    # ---- the HTTP side ----------------------------------------------------------------------------------------

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(code: int, description: str) -> web.Response:
        return web.json_response({"ok": False, "error_code": code, "description": description}, status=code)

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return await request.json()
        params: dict[str, Any] = {}
        for key, value in (await request.post()).items():
            if isinstance(value, str) and value[:1] in "[{":
                value = json.loads(value)  # PTB sends nested objects JSON-encoded inside form fields
            params[key] = value
        return params

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append((method, params))
        if method in self.fail:
            return self._error(*self.fail[method])
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            self.unknown_methods.append(method)
            return self._error(404, "Not Found: method not found")
        return await handler(params)

    async def _api_getMe(self, params: dict[str, Any]) -> web.Response:  # noqa: N802 — Bot API method names
        return self._ok({"id": BOT_ID, "is_bot": True, "first_name": "EyeBot", "username": "fake_eye_bot"})

    async def _api_getUpdates(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        offset = int(params.get("offset", 0) or 0)
        limit = int(params.get("limit", 100) or 100)
        deadline = time.monotonic() + float(params.get("timeout", 0) or 0)
        while True:
            if offset:  # like Telegram: an offset confirms (forgets) every earlier update
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if self.updates or self._closing or time.monotonic() >= deadline:
                return self._ok(self.updates[:limit])
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                pass

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        self.webhook = {}
        return self._ok(True)

    async def _api_setWebhook(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        self.webhook = params
        return self._ok(True)

    async def _api_setMyCommands(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        return self._ok(True)

    async def _api_sendChatAction(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        return self._ok(True)

    async def _api_getFile(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        file_id = params.get("file_id", "")
        if file_id not in self.files:
            return self._error(400, "Bad Request: invalid file_id")
        size = len(self.files[file_id])
        if size > 20 * 1024 * 1024:
            return self._error(400, "Bad Request: file is too big")
        return self._ok({"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": size, "file_path": file_id})

    async def _api_sendMessage(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        chat_id = int(params["chat_id"])
        reply = params.get("reply_parameters") or {}
        self.sent.append(Sent(chat_id, params["text"], reply.get("message_id"), params))
        self._new_reply.set()
        message = self.message(chat_id, text=params["text"])
        message["from"] = {"id": BOT_ID, "is_bot": True, "first_name": "EyeBot"}
        return self._ok(message)

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        self.downloads.append(path)
        if path in self.broken_downloads:
            return web.Response(status=500, text="Internal Server Error")
        if path not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[path], content_type="application/octet-stream")
