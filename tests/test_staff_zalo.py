"""Department staff on Zalo, end to end against the loopback Zalo server: roles work for
Zalo's string ids; exports, which are files, stay on Telegram and the command line, and a
staff member who asks for one on Zalo is told where to get it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.access import Role, parse_person
from bot.cli import main
from bot.settings import Settings
from tests.conftest import FakeClock
from tests.support.staffing import audit_rows, make_staff
from tests.support.zalo_harness import ZaloHarness, texts

# Zalo user ids are strings of letters and digits.
OFFICER = "7c4e0a91d2b35f6e8a10"


@pytest.fixture
async def zalo(settings: Settings, clock: FakeClock) -> AsyncIterator[ZaloHarness]:
    async with ZaloHarness.started(settings, clock) as harness:
        yield harness


def test_a_zalo_id_names_a_person_staff_can_grant_a_role_to(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert str(parse_person(f"zalo:{OFFICER}")) == f"zalo:{OFFICER}"
    assert parse_person("zalo:7c4e 0a91") is None
    assert parse_person("zalo:7c4e/0a91") is None
    assert main(["--db", str(settings.db_path), "staff", "add", f"zalo:{OFFICER}", "province"]) == 0
    assert f"zalo:{OFFICER}" in capsys.readouterr().out


async def test_a_staff_member_asking_for_an_export_on_zalo_is_told_where_to_get_it(
    zalo: ZaloHarness, settings: Settings
) -> None:
    await make_staff(zalo.bot, f"zalo:{OFFICER}", Role.PROVINCE)
    assert "/export" in texts(await zalo.say(OFFICER, "/help"))

    told = texts(await zalo.say(OFFICER, "/export 2026 Tam Thanh"))

    assert "Zalo không gửi được tệp" in told
    assert "/export 2026 Tam Thanh" in told  # the same request, on Telegram
    assert "sxsh-bot export --year 2026 --format xlsx --commune 05986" in told
    assert "1. Excel" not in told  # no format to choose: no file comes here
    english = texts(await zalo.say(OFFICER, "/lang en") + await zalo.say(OFFICER, "/export csv"))
    assert "Zalo cannot carry files" in english
    assert "sxsh-bot export --year 2026 --format csv" in english
    # No export was started (the turn that starts one records it in the audit log).
    assert [row for row in audit_rows(settings.db_path) if row[1] == "export"] == []


async def test_staff_lookups_work_on_zalo_as_text(zalo: ZaloHarness) -> None:
    await make_staff(zalo.bot, f"zalo:{OFFICER}", Role.PROVINCE)
    card = texts(await zalo.say(OFFICER, "/facility DEMO01"))
    assert "DEMO01 — Cơ sở sản xuất bún phở Mẫu Tam Thanh" in card
    assert f"zalo:{OFFICER}" in texts(await zalo.say(OFFICER, "/myid"))
