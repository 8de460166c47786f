"""HTTP to the Bot API over aiohttp, plugged into python-telegram-bot in place of its default httpx transport.

Why: every photo costs four Bot API round trips (typing, getFile, the download, the answer), and profiling the
bot under load showed the httpx/httpcore stack taking most of the event loop's time (its connection pool
re-checks every pooled socket on each request). aiohttp does the same requests for a fraction of the CPU, which
is what lets one event loop answer well over 100 photos a second. ``BaseRequest`` is PTB's documented extension
point for this; status codes, JSON and Telegram errors are still handled by PTB itself.
"""

from __future__ import annotations

import functools
import ssl
import urllib.request
from urllib.parse import urlsplit

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

try:  # the same CA bundle httpx would have used, so TLS works on slim images without system certificates
    import certifi

    _SSL = ssl.create_default_context(cafile=certifi.where())
except ImportError:  # pragma: no cover - certifi comes with python-telegram-bot's httpx dependency
    _SSL = ssl.create_default_context()

Timeout = float | None


class AiohttpRequest(BaseRequest):
    """A ``BaseRequest`` backed by one ``aiohttp.ClientSession`` (created in ``initialize``)."""

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: Timeout = 5.0,
        connect_timeout: Timeout = 5.0,
        pool_timeout: Timeout = 1.0,
    ) -> None:
        self.connection_pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> Timeout:
        """The default read timeout; PTB adds the long-polling timeout to it for getUpdates."""
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.connection_pool_size, ssl=_SSL)
            # Not trust_env: that re-reads the proxy variables and ~/.netrc in a worker thread on every request
            # (a third of the bot's threads' CPU under load). The proxy is looked up once per host instead.
            self._session = aiohttp.ClientSession(connector=connector)

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Timeout | object = BaseRequest.DEFAULT_NONE,
        write_timeout: Timeout | object = BaseRequest.DEFAULT_NONE,  # aiohttp has no separate write timeout
        connect_timeout: Timeout | object = BaseRequest.DEFAULT_NONE,
        pool_timeout: Timeout | object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        read = self._read_timeout if read_timeout is BaseRequest.DEFAULT_NONE else read_timeout
        connect = self._connect_timeout if connect_timeout is BaseRequest.DEFAULT_NONE else connect_timeout
        pool = self._pool_timeout if pool_timeout is BaseRequest.DEFAULT_NONE else pool_timeout
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None if connect is None or pool is None else connect + pool,  # waiting for a pooled socket too
            sock_connect=connect,
            sock_read=read,
        )
        try:
            async with self._session.request(
                method,
                url,
                data=_body(request_data),
                headers={"User-Agent": self.USER_AGENT},
                timeout=timeout,
                proxy=proxy_for(url),
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:  # aiohttp's timeouts subclass the built-in TimeoutError
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error


def proxy_for(url: str) -> str | None:
    """The proxy for ``url`` from HTTPS_PROXY / HTTP_PROXY / NO_PROXY (as httpx would use), or None."""
    parts = urlsplit(url)
    return _proxy(parts.scheme, parts.hostname or "")


@functools.cache  # the environment is read once per host: the bot talks to one or two hosts for its whole life
def _proxy(scheme: str, host: str) -> str | None:
    proxies = urllib.request.getproxies()
    if scheme not in proxies or urllib.request.proxy_bypass(host):
        return None
    return proxies[scheme]


def _body(request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
    """Form fields as PTB encodes them; multipart only when there are files to upload."""
    if request_data is None:
        return None
    files = request_data.multipart_data
    if not files:
        return request_data.json_parameters
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mime_type) in files.items():
        form.add_field(name, content, filename=filename, content_type=mime_type)
    return form
