"""``bot.transport.AiohttpRequest`` against tiny local servers: form posts, uploads, errors and timeouts."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.transport import AiohttpRequest

TOKEN = "42:transport-test"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def serve(handler: Handler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def message_json(**extra: object) -> dict:
    return {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, **extra}


def test_requests_round_trip_through_the_bot_api_client() -> None:
    seen: list[tuple[str, dict]] = []

    async def handler(request: web.Request) -> web.Response:
        fields = {}
        for name, value in (await request.post()).items():
            fields[name] = value if isinstance(value, str) else (value.filename, value.file.read())
        seen.append((request.path.rsplit("/", 1)[1], fields))
        if request.path.endswith("/getMe"):
            return web.json_response({"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "B"}})
        document = {"file_id": "d", "file_unique_id": "d", "file_name": "eye.png"}
        return web.json_response({"ok": True, "result": message_json(text="ok", document=document)})

    async def main() -> None:
        runner, url = await serve(handler)
        try:
            async with Bot(TOKEN, base_url=f"{url}/bot", request=AiohttpRequest()) as bot:
                sent = await bot.send_message(chat_id=5, text="Open — 97% sure", reply_parameters={"message_id": 3})
                assert sent.text == "ok"
                await bot.send_document(chat_id=5, document=b"\x89PNG fake", filename="eye.png")
        finally:
            await runner.cleanup()

    asyncio.run(main())
    methods = [method for method, _ in seen]
    assert methods == ["getMe", "sendMessage", "sendDocument"]
    message = seen[1][1]
    assert message["text"] == "Open — 97% sure" and message["chat_id"] == "5"
    assert '"message_id": 3' in message["reply_parameters"]  # nested objects travel JSON-encoded
    assert seen[2][1]["document"] == ("eye.png", b"\x89PNG fake")


def test_telegram_errors_still_come_from_ptb() -> None:
    async def handler(request: web.Request) -> web.Response:
        body = {"ok": False, "error_code": 400, "description": "Bad Request: file is too big"}
        return web.json_response(body, status=400)

    async def main() -> None:
        runner, url = await serve(handler)
        request = AiohttpRequest()
        await request.initialize()
        try:
            with pytest.raises(BadRequest, match="File is too big"):
                await request.post(f"{url}/bot{TOKEN}/getFile")
        finally:
            await request.shutdown()
            await runner.cleanup()

    asyncio.run(main())


def test_refused_connection_is_a_network_error() -> None:
    port = unused_port()

    async def main() -> None:
        request = AiohttpRequest(connect_timeout=2)
        await request.initialize()
        try:
            with pytest.raises(NetworkError, match="aiohttp.ClientConnectorError"):
                await request.do_request(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe", "POST")
        finally:
            await request.shutdown()

    asyncio.run(main())


def test_slow_answer_is_timed_out_after_the_read_timeout() -> None:
    async def handler(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({"ok": True, "result": True})

    async def main() -> float:
        runner, url = await serve(handler)
        request = AiohttpRequest(read_timeout=0.3)
        await request.initialize()
        start = time.monotonic()
        try:
            with pytest.raises(TimedOut):
                await request.do_request(f"{url}/bot{TOKEN}/getMe", "POST")
            return time.monotonic() - start
        finally:
            await request.shutdown()
            await runner.cleanup()

    assert asyncio.run(main()) < 1.5


def test_use_before_initialize_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not initialized"):
        asyncio.run(AiohttpRequest().do_request("http://127.0.0.1:9/", "GET"))


def test_requests_go_through_the_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot import transport

    proxied: list[str] = []

    async def proxy(request: web.Request) -> web.Response:  # a forward proxy sees the absolute target URL
        proxied.append(str(request.url))
        return web.json_response({"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "B"}})

    async def main(base_url: str) -> None:
        async with Bot(TOKEN, base_url=base_url, request=AiohttpRequest()) as bot:
            assert bot.first_name == "B"

    async def via_proxy() -> None:
        runner, url = await serve(proxy)
        monkeypatch.setenv("HTTP_PROXY", url)
        monkeypatch.setenv("NO_PROXY", "localhost")
        transport._proxy.cache_clear()
        try:
            await main("http://api.telegram.invalid/bot")  # unresolvable: only the proxy can answer it
            assert proxied == [f"http://api.telegram.invalid/bot{TOKEN}/getMe"]
            with pytest.raises(NetworkError):  # NO_PROXY: straight to localhost, where nothing listens
                await main(f"http://localhost:{unused_port()}/bot")
            assert len(proxied) == 1
        finally:
            transport._proxy.cache_clear()
            await runner.cleanup()

    asyncio.run(via_proxy())


def unused_port() -> int:
    """A local port nothing listens on (bound, then closed again before use)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
