"""A small HTTP/1.1 server on asyncio streams, enough to receive webhooks.

It reads one request at a time per connection (keep-alive, `Content-Length` or chunked
bodies), hands it to an async handler and writes the handler's response. Sizes and idle
times are bounded so a slow or hostile client cannot hold memory or a connection for
long. If the client goes away while the handler works, the handler is cancelled (a long
poll must not hand its result to a closed socket). TLS is left to a reverse proxy in
front, as usual for webhooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 16 * 1024
IDLE_SECONDS = 60.0


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    query: str
    # Header names in lower case.
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON; ValueError if it is not."""
        return json.loads(self.body.decode("utf-8"))


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, value: object) -> HttpResponse:
        return cls(status, json.dumps(value, ensure_ascii=False).encode("utf-8"))


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


class _BadRequest(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class HttpServer:
    def __init__(
        self, handler: Handler, *, max_body: int = 1024 * 1024, idle: float = IDLE_SECONDS
    ) -> None:
        self._handler = handler
        self.max_body = max_body
        self.idle = idle
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        # TCP connections served so far (a keep-alive client reuses one).
        self.connections_accepted = 0

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._serve, host, port, limit=MAX_HEAD_BYTES)

    @property
    def address(self) -> tuple[str, int]:
        """The host and port actually listened on (port 0 asks the system for one)."""
        if self._server is None:
            raise RuntimeError("the HTTP server is not started")
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def stop(self) -> None:
        """Stop listening and close every connection; takes a second at most."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        tasks = [task for task in self._connections if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)
        if server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), timeout=1.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self.connections_accepted += 1
        try:
            while True:
                try:
                    request = await asyncio.wait_for(self._read(reader), self.idle)
                except _BadRequest as error:
                    await _write(writer, HttpResponse(error.status), keep_alive=False)
                    break
                if request is None:
                    break
                response = await self._answer(request, reader)
                if response is None:  # the client left while we worked
                    break
                keep_alive = request.headers.get("connection", "").lower() != "close"
                await _write(writer, response, keep_alive=keep_alive)
                if not keep_alive:
                    break
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass  # stop() ends connections this way
        finally:
            self._connections.discard(task)
            writer.close()

    async def _answer(
        self, request: HttpRequest, reader: asyncio.StreamReader
    ) -> HttpResponse | None:
        work = asyncio.ensure_future(self._handle(request))
        # Clients here send one request and wait for the answer, so any byte (or the end
        # of the stream) before we answer means the connection is no longer usable.
        gone = asyncio.ensure_future(reader.read(1))
        try:
            await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (work, gone):
                if not pending.done():
                    pending.cancel()
            await asyncio.wait({work, gone})
        if work.cancelled() or not gone.cancelled():
            return None
        return work.result()

    async def _handle(self, request: HttpRequest) -> HttpResponse:
        try:
            return await self._handler(request)
        except Exception:
            log.exception("webhook handler failed on %s %s", request.method, request.path)
            return HttpResponse(HTTPStatus.INTERNAL_SERVER_ERROR)

    async def _read(self, reader: asyncio.StreamReader) -> HttpRequest | None:
        """One request; None when the client closed the connection between requests."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as error:
            if error.partial.strip():
                raise _BadRequest(HTTPStatus.BAD_REQUEST) from error
            return None
        except asyncio.LimitOverrunError as error:
            raise _BadRequest(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE) from error
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = request_line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _BadRequest(HTTPStatus.BAD_REQUEST)
        method, target, _version = parts
        headers: dict[str, str] = {}
        for line in header_lines:
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._read_chunked(reader)
        else:
            try:
                length = int(headers.get("content-length", "0") or 0)
            except ValueError as error:
                raise _BadRequest(HTTPStatus.BAD_REQUEST) from error
            if length < 0:
                raise _BadRequest(HTTPStatus.BAD_REQUEST)
            if length > self.max_body:
                raise _BadRequest(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            body = await reader.readexactly(length) if length else b""
        path, _, query = target.partition("?")
        return HttpRequest(method.upper(), path, query, headers, body)

    async def _read_chunked(self, reader: asyncio.StreamReader) -> bytes:
        body = bytearray()
        while True:
            try:
                size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
            except ValueError as error:
                raise _BadRequest(HTTPStatus.BAD_REQUEST) from error
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailer fields, not used
                return bytes(body)
            if len(body) + size > self.max_body:
                raise _BadRequest(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            body += await reader.readexactly(size)
            await reader.readexactly(2)


async def _write(writer: asyncio.StreamWriter, response: HttpResponse, *, keep_alive: bool) -> None:
    status = HTTPStatus(response.status)
    head = [
        f"HTTP/1.1 {status.value} {status.phrase}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
        f"Connection: {'keep-alive' if keep_alive else 'close'}",
        *(f"{name}: {value}" for name, value in response.headers.items()),
    ]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body)
    await writer.drain()
