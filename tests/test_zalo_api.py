"""The Zalo Bot API client against the loopback Zalo server, the fake server's own
refusals, and the small pure parts of the channel (updates, addresses, backoff)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.channels.zalo import (
    Backoff,
    WebhookAddress,
    inbound_from_update,
    means_unreachable,
)
from bot.channels.zalo_api import ZaloBotApi, ZaloError, updates_in
from tests.support.zalo_server import ZaloApiServer

USER = "e4ea2cd5189df1c3a88c"


@pytest.fixture
async def server() -> AsyncIterator[ZaloApiServer]:
    async with ZaloApiServer(long_poll_cap=0.3) as running:
        yield running


@pytest.fixture
async def api(server: ZaloApiServer) -> AsyncIterator[ZaloBotApi]:
    client = ZaloBotApi(server.token, server.base_url, timeout=1.0)
    yield client
    await client.aclose()


async def raw_call(server: ZaloApiServer, method: str, body: Any, token: str = "") -> Any:
    """A call the client would never make, straight over HTTP."""
    async with httpx.AsyncClient() as client:
        url = server.base_url + (token or server.token) + "/" + method
        return (await client.post(url, json=body)).json()


# -- the client against the fake platform


async def test_get_updates_hands_out_one_update_per_call_and_nothing_after_a_408(
    api: ZaloBotApi, server: ZaloApiServer
) -> None:
    first = server.send_text(USER, "một")
    server.send_text(USER, "hai")
    [update] = await api.get_updates(timeout=1)
    assert update["message"]["message_id"] == first
    assert update["event_name"] == "message.text.received"
    assert [u["message"]["text"] for u in await api.get_updates(timeout=1)] == ["hai"]
    assert await api.get_updates(timeout=1) == []
    assert server.calls_to("getUpdates")[-1] == {"timeout": "1"}
    server.assert_no_violations()


async def test_every_method_speaks_the_platforms_json(
    api: ZaloBotApi, server: ZaloApiServer
) -> None:
    server.make_update(USER)
    assert (await api.get_me())["account_name"] == "bot.SxshLangSon"
    sent = await api.send_message(USER, "Xin chào")
    assert set(sent) == {"message_id", "date"}
    await api.send_photo(USER, "https://sxsh.example/so-do.png", caption="Sơ đồ")
    assert await api.send_chat_action(USER) is True
    await api.set_webhook("https://sxsh.example/zalo", "eight-or-more")
    assert (await api.get_webhook_info())["url"] == "https://sxsh.example/zalo"
    await api.delete_webhook()
    assert [(m.method, m.text, m.photo) for m in server.sent] == [
        ("sendMessage", "Xin chào", None),
        ("sendPhoto", "Sơ đồ", "https://sxsh.example/so-do.png"),
    ]
    server.assert_no_violations()


async def test_texts_outside_1_to_2000_characters_never_leave_the_client(
    api: ZaloBotApi, server: ZaloApiServer
) -> None:
    server.make_update(USER)
    for text in ("", "x" * 2001):
        with pytest.raises(ValueError):
            await api.send_message(USER, text)
    with pytest.raises(ValueError):
        await api.set_webhook("https://sxsh.example/zalo", "short")
    assert server.calls == []


@pytest.mark.parametrize(
    ("failure", "code", "retryable"),
    [
        ({"status": 429, "retry_after": 3}, 429, True),
        ({"status": 500}, 500, True),
        ({"status": 502, "html": True}, 502, True),
        ({"status": 200, "error_code": 503}, 503, True),
        ({"status": 400}, 400, False),
        ({"status": 200, "error_code": 403}, 403, False),
    ],
)
async def test_failures_say_whether_trying_again_can_help(
    api: ZaloBotApi,
    server: ZaloApiServer,
    failure: dict[str, Any],
    code: int,
    retryable: bool,
) -> None:
    server.make_update(USER)
    server.fail_next("sendMessage", **failure)
    with pytest.raises(ZaloError) as raised:
        await api.send_message(USER, "Xin chào")
    assert (raised.value.error_code, raised.value.retryable) == (code, retryable)
    assert raised.value.retry_after == failure.get("retry_after")
    assert server.token not in str(raised.value)


async def test_timeouts_and_refused_connections_are_worth_another_try(
    api: ZaloBotApi, server: ZaloApiServer
) -> None:
    server.stall_next("getMe", seconds=3)
    with pytest.raises(ZaloError) as timed_out:
        await api.get_me()
    assert timed_out.value.retryable and "timed out" in str(timed_out.value)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    nobody = ZaloBotApi(server.token, f"http://127.0.0.1:{closed_port}/bot", timeout=1.0)
    with pytest.raises(ZaloError) as refused:
        await nobody.get_me()
    await nobody.aclose()
    assert refused.value.retryable and server.token not in str(refused.value)


async def test_a_wrong_token_is_refused_and_not_worth_retrying(server: ZaloApiServer) -> None:
    intruder = ZaloBotApi("999:WRONG", server.base_url, timeout=1.0)
    with pytest.raises(ZaloError) as raised:
        await intruder.get_me()
    await intruder.aclose()
    assert (raised.value.error_code, raised.value.retryable) == (401, False)
    assert "999:WRONG" not in str(raised.value)
    server.violations.clear()


# -- the fake platform refuses what Zalo refuses


@pytest.mark.parametrize(
    ("method", "body", "description"),
    [
        ("sendMessage", {"chat_id": USER, "text": ""}, "1 to 2000"),
        ("sendMessage", {"chat_id": USER, "text": "x" * 2001}, "1 to 2000"),
        ("sendMessage", {"chat_id": "nobody", "text": "Xin chào"}, "chat not found"),
        ("sendMessage", {"chat_id": USER}, "text is required"),
        ("sendMessage", {"chat_id": USER, "text": "a", "reply_markup": {}}, "no parameter"),
        ("getUpdates", {"timeout": 30}, "must be a string"),
        ("sendChatAction", {"chat_id": USER, "action": "upload_photo"}, "typing"),
        ("sendPhoto", {"chat_id": USER, "photo": "so-do.png"}, "URL"),
        ("setWebhook", {"url": "http://sxsh.example/zalo", "secret_token": "x" * 8}, "https"),
        ("sendSticker", {"chat_id": USER, "sticker": "x"}, "not found"),
    ],
)
async def test_the_fake_platform_refuses_what_zalo_refuses(
    server: ZaloApiServer, method: str, body: dict[str, Any], description: str
) -> None:
    server.make_update(USER)
    answer = await raw_call(server, method, body)
    assert answer["ok"] is False and description in answer["description"]
    assert [violation.method for violation in server.violations] == [method]
    assert server.sent == []


async def test_the_fake_platform_refuses_unknown_tokens(server: ZaloApiServer) -> None:
    answer = await raw_call(server, "getMe", {}, token="1:STOLEN")
    assert (answer["ok"], answer["error_code"]) == (False, 401)
    assert len(server.violations) == 1


# -- updates as the dispatcher sees them


def message(**fields: Any) -> dict[str, Any]:
    return {
        "message_id": "16f6366b3f02645a3d15",
        "date": 1766619597466,
        "chat": {"id": USER, "chat_type": "PRIVATE"},
        "from": {"id": USER, "display_name": "Nguyễn Văn An"},
        **fields,
    }


def test_a_text_message_becomes_a_text_inbound_keyed_by_its_message_id() -> None:
    inbound = inbound_from_update(
        {"event_name": "message.text.received", "message": message(text="Xin chào")}
    )
    assert inbound is not None
    assert (inbound.channel, inbound.user_id, inbound.chat_id, inbound.kind, inbound.text) == (
        "zalo",
        USER,
        USER,
        "text",
        "Xin chào",
    )
    assert inbound.dedup_key == "zalo:message:16f6366b3f02645a3d15"
    assert inbound.display_name == "Nguyễn Văn An"


@pytest.mark.parametrize(
    "event",
    [
        "message.image.received",
        "message.sticker.received",
        "message.voice.received",
        "message.unsupported.received",
    ],
)
def test_anything_but_text_is_other(event: str) -> None:
    inbound = inbound_from_update(
        {"event_name": event, "message": message(caption="ảnh", photo="https://x/a.jpg")}
    )
    assert inbound is not None and (inbound.kind, inbound.text) == ("other", None)


def test_an_update_without_event_name_and_with_numeric_ids_is_still_understood() -> None:
    raw = message(text="1", chat={"id": 42}, **{"from": {"id": 42, "first_name": "An"}})
    inbound = inbound_from_update({"message": raw})
    assert inbound is not None
    assert (inbound.user_id, inbound.kind, inbound.display_name) == ("42", "text", "An")


@pytest.mark.parametrize(
    "update",
    [
        {"event_name": "user.follow"},
        {"message": "Xin chào"},
        {"message": {"text": "Xin chào", "chat": {"id": USER}}},
        {"message": {"text": "Xin chào", "from": {"id": USER}, "chat": {"id": None}}},
    ],
)
def test_what_is_not_a_users_message_is_ignored(update: dict[str, Any]) -> None:
    assert inbound_from_update(update) is None


def test_webhook_bodies_are_accepted_bare_wrapped_or_as_a_list() -> None:
    update = {"event_name": "message.text.received", "message": message(text="a")}
    assert updates_in(update) == [update]
    assert updates_in({"ok": True, "result": update}) == [update]
    assert updates_in([update, "junk"]) == [update]
    assert updates_in({"ok": True, "result": {}}) == []
    assert updates_in("junk") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:8443/zalo", WebhookAddress("127.0.0.1", 8443, "/zalo")),
        ("0.0.0.0:80/", WebhookAddress("0.0.0.0", 80, "/")),
        ("[::1]:8443/hook/zalo", WebhookAddress("::1", 8443, "/hook/zalo")),
        ("bot.internal:9000/z", WebhookAddress("bot.internal", 9000, "/z")),
    ],
)
def test_a_webhook_address_is_host_port_and_path(text: str, expected: WebhookAddress) -> None:
    assert WebhookAddress.parse(text) == expected


@pytest.mark.parametrize(
    "text", ["8443/zalo", "host:port/x", "host:8443", "host:99999/x", ":8443/x", "h:1/a b"]
)
def test_a_malformed_webhook_address_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        WebhookAddress.parse(text)


def test_pauses_double_up_to_a_ceiling_and_follow_zalos_own_figure() -> None:
    backoff = Backoff(first=1.0, most=30.0)
    assert [backoff.pause(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.pause(1, asked=5) == 5
    assert backoff.pause(1, asked=600) == 30


@pytest.mark.parametrize(
    ("code", "description", "unreachable"),
    [
        (403, "Forbidden: the user has blocked the bot", True),
        (400, "Bad Request: chat not found", True),
        (404, "user not found", True),
        (400, "Bad Request: text is too long", False),
        (500, "Internal Server Error", False),
    ],
)
def test_only_a_blocked_or_unknown_chat_counts_as_unreachable(
    code: int, description: str, unreachable: bool
) -> None:
    error = ZaloError("sendMessage", code, description, retryable=code >= 500)
    assert means_unreachable(error) is unreachable
