"""Zalo by webhook: Zalo POSTs each update to us with the secret it was given; the bot
answers only calls that carry it, whether the update comes bare or wrapped."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.channels.zalo import WebhookAddress, inbound_from_update
from bot.channels.zalo_api import updates_in
from bot.settings import Settings
from tests.conftest import FakeClock, invitation_for
from tests.support.zalo_harness import SECRET, ZaloHarness, texts
from tests.support.zalo_server import ZaloSent

MANAGER = "5b0d9e77a1c24f3e9b02"
PATH = "/zalo/hook"


@pytest.fixture
async def zalo(settings: Settings, clock: FakeClock) -> AsyncIterator[ZaloHarness]:
    async with ZaloHarness.started(
        settings, clock, webhook=WebhookAddress("127.0.0.1", 0, PATH)
    ) as harness:
        yield harness


async def post(
    zalo: ZaloHarness,
    body: Any,
    *,
    secret: str | None = SECRET,
    path: str = PATH,
    method: str = "POST",
) -> tuple[int, list[ZaloSent]]:
    """Call the bot's webhook as Zalo would; the status and what the bot sent back."""
    url = zalo.channel.listening_url
    assert url is not None
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Bot-Api-Secret-Token"] = secret
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    index, handled = len(zalo.server.sent), zalo.channel.updates_handled
    async with httpx.AsyncClient() as client:
        response = await client.request(
            method, url.replace(PATH, path), content=content, headers=headers
        )
    messages = [update for update in updates_in(body) if inbound_from_update(update)]
    if response.status_code == 200 and messages:
        await zalo.settle(handled, len(messages))
    return response.status_code, zalo.server.sent[index:]


def count(settings: Settings, sql: str) -> int:
    with sqlite3.connect(settings.db_path) as connection:
        return int(connection.execute(sql).fetchone()[0])


async def test_a_call_without_the_right_secret_is_refused_with_403_and_changes_nothing(
    zalo: ZaloHarness, clock: FakeClock, settings: Settings
) -> None:
    code = await invitation_for(zalo.bot, "DEMO01", clock())
    update = zalo.server.make_update(MANAGER, text=code)
    for secret in ("not-the-secret", "", None, SECRET.upper()):
        status, sent = await post(zalo, update, secret=secret)
        assert (status, sent) == (403, [])
    status, _sent = await post(zalo, update, secret="wrong", path="/elsewhere", method="GET")
    assert status == 403
    assert count(settings, "SELECT COUNT(*) FROM users") == 0
    assert count(settings, "SELECT COUNT(*) FROM invitations WHERE used_at IS NULL") == 1


async def test_a_call_with_the_right_secret_is_answered_whether_bare_or_wrapped(
    zalo: ZaloHarness, clock: FakeClock
) -> None:
    code = await invitation_for(zalo.bot, "DEMO01", clock())
    status, sent = await post(zalo, zalo.server.make_update(MANAGER, text=code))
    assert status == 200
    assert "(1/7) Họ và tên người phụ trách SXSH" in texts(sent)
    wrapped = {"ok": True, "result": zalo.server.make_update(MANAGER, text="Hoàng Thị Mai")}
    status, sent = await post(zalo, wrapped)
    assert status == 200
    assert "(2/7) Chức vụ" in texts(sent)


async def test_a_message_posted_twice_is_answered_once(
    zalo: ZaloHarness, clock: FakeClock, settings: Settings
) -> None:
    code = await invitation_for(zalo.bot, "DEMO01", clock())
    await post(zalo, zalo.server.make_update(MANAGER, text=code))
    update = zalo.server.make_update(MANAGER, text="Hoàng Thị Mai")
    assert (await post(zalo, update))[0] == 200
    assert await post(zalo, {"ok": True, "result": update}) == (200, [])
    assert count(settings, "SELECT COUNT(*) FROM draft_answers") == 1


async def test_other_paths_methods_and_bodies_are_refused_without_a_reply(
    zalo: ZaloHarness,
) -> None:
    update = zalo.server.make_update(MANAGER, text="Xin chào")
    assert (await post(zalo, update, path="/other"))[0] == 404
    assert (await post(zalo, update, method="PUT"))[0] == 405
    assert (await post(zalo, b"{not json"))[0] == 400
    assert await post(zalo, {"event_name": "user.follow", "sender": {"id": "1"}}) == (200, [])
    assert zalo.server.sent == []


async def test_the_webhook_is_registered_with_zalo_when_its_public_address_is_set(
    settings: Settings, clock: FakeClock
) -> None:
    public = "https://sxsh.langson.example/zalo/hook"
    async with ZaloHarness.started(
        settings, clock, webhook=WebhookAddress("127.0.0.1", 0, PATH), webhook_url=public
    ) as zalo:
        assert zalo.server.calls_to("setWebhook") == [{"url": public, "secret_token": SECRET}]
        assert zalo.server.calls_to("getUpdates") == []
        assert zalo.server.calls_to("deleteWebhook") == []
