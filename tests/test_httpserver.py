"""The small HTTP/1.1 server behind the Zalo webhook: bounded, and tolerant of clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.httpserver import HttpRequest, HttpResponse, HttpServer


class Recorder:
    def __init__(self) -> None:
        self.requests: list[HttpRequest] = []
        self.cancelled = asyncio.Event()
        self.hold = False

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        if request.path == "/boom":
            raise RuntimeError("a bug in the handler")
        if self.hold:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        return HttpResponse.json(200, {"got": len(request.body)})


@pytest.fixture
async def served() -> AsyncIterator[tuple[HttpServer, Recorder, str]]:
    recorder = Recorder()
    server = HttpServer(recorder, max_body=1000)
    await server.start("127.0.0.1", 0)
    host, port = server.address
    yield server, recorder, f"http://{host}:{port}"
    await server.stop()


async def raw(url: str, data: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(data)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return answer


async def test_requests_on_one_kept_alive_connection_are_all_answered(
    served: tuple[HttpServer, Recorder, str],
) -> None:
    _server, recorder, url = served
    async with httpx.AsyncClient() as client:
        for size in (0, 10, 1000):
            response = await client.post(url + "/hook?x=1", content=b"a" * size)
            assert response.json() == {"got": size}
    first = recorder.requests[0]
    assert (first.method, first.path, first.query) == ("POST", "/hook", "x=1")
    assert len(recorder.requests) == 3


async def test_a_chunked_body_is_read_whole(served: tuple[HttpServer, Recorder, str]) -> None:
    _server, recorder, url = served

    async def pieces() -> AsyncIterator[bytes]:
        for piece in (b'{"a":', b" 1}"):
            yield piece

    async with httpx.AsyncClient() as client:
        response = await client.post(url + "/hook", content=pieces())
    assert response.status_code == 200
    assert recorder.requests[0].json() == {"a": 1}


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"POST /hook HTTP/1.1\r\nContent-Length: 1001\r\n\r\n", b"413"),
        (b"POST /hook HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n", b"413"),
        (b"POST /hook HTTP/1.1\r\nX: " + b"y" * 20_000 + b"\r\n\r\n", b"431"),
        (b"POST /hook HTTP/1.1\r\nContent-Length: many\r\n\r\n", b"400"),
        (b"hello\r\n\r\n", b"400"),
    ],
    ids=["too-long", "chunked-too-long", "huge-header", "bad-length", "not-http"],
)
async def test_oversized_or_malformed_requests_are_refused_before_the_handler(
    served: tuple[HttpServer, Recorder, str], request_bytes: bytes, status: bytes
) -> None:
    _server, recorder, url = served
    answer = await raw(url, request_bytes)
    assert answer.split(b" ")[1] == status
    assert recorder.requests == []


async def test_a_failing_handler_gives_500_and_the_server_carries_on(
    served: tuple[HttpServer, Recorder, str],
) -> None:
    _server, _recorder, url = served
    async with httpx.AsyncClient() as client:
        assert (await client.post(url + "/boom")).status_code == 500
        assert (await client.post(url + "/hook")).status_code == 200


async def test_a_client_that_leaves_cancels_the_work_done_for_it(
    served: tuple[HttpServer, Recorder, str],
) -> None:
    _server, recorder, url = served
    recorder.hold = True
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(url + "/hook", timeout=0.2)
    await asyncio.wait_for(recorder.cancelled.wait(), 5)
