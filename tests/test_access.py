"""Roles and scopes: every staff command and button asks for the role on each call, and a
manager, an unlinked user, a commune officer outside their commune, a non-admin or a
forged button gets a refusal and nothing else."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.access import Role, Scope, parse_grant, parse_person, parse_role, role_of
from bot.app import Bot
from bot.settings import Settings
from bot.storage.facilities import Facility
from bot.storage.snapshot import FacilityFilter
from bot.storage.users import ChatUser
from tests.conftest import FakeClock
from tests.support.staffing import audit_rows, facility_id, linked_manager, make_staff, press
from tests.test_onboarding import Chat

TAM_THANH = "05986"
CHI_LANG = "06463"  # DEMO02's commune

STAFF_COMMANDS = [
    "/export",
    "/export 2026 xlsx",
    "/export 2026 csv Chi Lăng",
    "/facility DEMO01",
    "/facility xi măng",
    "/staff",
    "/staff add console:someone province",
    "/staff remove console:officer",
]


def user(
    channel: str = "telegram", external_id: str = "1", facility: int | None = None
) -> ChatUser:
    return ChatUser(0, channel, external_id, external_id, None, "vi", facility, True)


def state(settings: Settings) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with sqlite3.connect(settings.db_path) as connection:
        staff = connection.execute("SELECT * FROM staff ORDER BY id").fetchall()
        audit = connection.execute("SELECT * FROM audit_log ORDER BY id").fetchall()
    return staff, audit


async def test_role_of_reads_admin_ids_the_staff_table_and_the_facility_link(
    bot: Bot, settings: Settings
) -> None:
    settings.admin_ids = [777]
    await make_staff(bot, "telegram:500", Role.COMMUNE, TAM_THANH)
    await make_staff(bot, "zalo:501", Role.PROVINCE)
    async with bot.database.snapshot() as store:
        admin = await role_of(store, user("telegram", "777"), settings)
        not_admin_elsewhere = await role_of(store, user("zalo", "777"), settings)
        commune = await role_of(store, user("telegram", "500", facility=3), settings)
        province = await role_of(store, user("zalo", "501"), settings)
        manager = await role_of(store, user("telegram", "9", facility=3), settings)
        nobody = await role_of(store, user("telegram", "10"), settings)
    assert (admin.role, admin.scope.kind, admin.source) == (Role.ADMIN, "all", "settings")
    assert not_admin_elsewhere.role is Role.NONE  # SXSH_ADMIN_IDS are Telegram ids
    assert commune.role is Role.COMMUNE and commune.scope == Scope("commune", TAM_THANH)
    assert province.role is Role.PROVINCE and province.scope.kind == "all"
    assert manager.role is Role.MANAGER and manager.scope == Scope("facility", facility_id=3)
    assert nobody.role is Role.NONE and nobody.scope.kind == "none"


@pytest.mark.parametrize(
    ("scope", "commune", "sector", "expected"),
    [
        (Scope("all"), None, None, FacilityFilter()),
        (Scope("all"), CHI_LANG, "C23", FacilityFilter(CHI_LANG, "C23")),
        (Scope("commune", TAM_THANH), None, "C10", FacilityFilter(TAM_THANH, "C10")),
        (Scope("commune", TAM_THANH), TAM_THANH, None, FacilityFilter(TAM_THANH)),
        (Scope("commune", TAM_THANH), CHI_LANG, None, None),
        (Scope("facility", facility_id=7), None, None, FacilityFilter(facility_id=7)),
        (Scope("none"), None, None, None),
    ],
)
def test_a_scope_narrows_a_request_or_refuses_what_is_outside_it(
    scope: Scope, commune: str | None, sector: str | None, expected: FacilityFilter | None
) -> None:
    assert scope.narrow(commune, sector) == expected


def test_a_scope_allows_only_its_own_facilities() -> None:
    def facility(facility_id: int, commune: str) -> Facility:
        return Facility(facility_id, "X", "X", None, commune, None, "C10", "small", None, None)

    assert Scope("commune", TAM_THANH).allows(facility(1, TAM_THANH))
    assert not Scope("commune", TAM_THANH).allows(facility(2, CHI_LANG))
    assert Scope("facility", facility_id=1).allows(facility(1, CHI_LANG))
    assert not Scope("facility", facility_id=1).allows(facility(2, CHI_LANG))
    assert not Scope("none").allows(facility(1, TAM_THANH))


def test_people_roles_and_grants_are_read_the_way_staff_type_them() -> None:
    assert str(parse_person(" Telegram:123456 ")) == "telegram:123456"
    assert parse_person("telegram:abc") is None
    assert parse_person("whatsapp:1") is None
    assert parse_person("123456") is None
    assert parse_role("Tỉnh") is Role.PROVINCE and parse_role("xa") is Role.COMMUNE
    assert parse_role("manager") is None  # managers are made by invitations
    change = parse_grant(["zalo:42", "commune", "tam", "thanh"])
    assert (str(change.person), change.role, change.commune_code) == (
        "zalo:42",
        Role.COMMUNE,
        TAM_THANH,
    )


@pytest.mark.parametrize("command", STAFF_COMMANDS)
@pytest.mark.parametrize("who", ["unlinked", "manager"])
async def test_non_staff_get_a_refusal_and_nothing_else_for_every_staff_command(
    bot: Bot, settings: Settings, clock: FakeClock, who: str, command: str
) -> None:
    await make_staff(bot, "console:officer", Role.COMMUNE, TAM_THANH)
    chat = Chat(bot, who)
    if who == "manager":
        chat = await linked_manager(bot, "DEMO01", who, clock())
    before = state(settings)
    replies = await chat.channel.send(command)
    assert len(replies) == 1 and not replies[0].buttons and replies[0].attachment is None
    assert "chỉ dành cho cán bộ Sở Công Thương" in replies[0].text
    assert f"console:{who}" in replies[0].text  # their id, to ask for access
    assert "DEMO" not in replies[0].text
    assert state(settings) == before


async def test_a_province_officer_may_not_change_roles(bot: Bot, settings: Settings) -> None:
    await make_staff(bot, "console:province", Role.PROVINCE)
    before = state(settings)
    for command in ("/staff", "/staff add console:x admin", "/staff remove console:province"):
        reply = (await Chat(bot, "province").say(command)).strip()
        assert reply == "Chỉ quản trị viên mới được cấp hoặc thu hồi quyền cán bộ."
    assert state(settings) == before


async def test_a_commune_officer_is_refused_everything_outside_their_commune(
    bot: Bot, settings: Settings
) -> None:
    await make_staff(bot, "console:officer", Role.COMMUNE, TAM_THANH)
    officer = Chat(bot, "officer")
    before = state(settings)
    refused = (
        "Anh/chị chỉ được xem các cơ sở của phường Tam Thanh. Không có dữ liệu nào được hiển thị."
    )
    assert (await officer.say("/export 2026 xlsx Chi Lăng")).strip() == refused
    assert "Không có cơ sở nào khớp" in await officer.say("/facility DEMO02")
    demo02 = facility_id(settings.db_path, "DEMO02")
    for forged in (f"fa:{demo02}", f"ex:2026:xlsx:{CHI_LANG}:-", "ex:2026:csv:06463:C23"):
        replies = await press(bot, "officer", forged)
        assert [reply.text for reply in replies] == [refused]
    assert state(settings) == before
    card = await officer.say("/facility DEMO01")
    assert "DEMO01 — Cơ sở sản xuất bún phở Mẫu Tam Thanh" in card
    own = await press(bot, "officer", f"fa:{facility_id(settings.db_path, 'DEMO01')}")
    assert "Báo cáo năm 2026: chưa bắt đầu" in own[0].text


async def test_a_forged_button_from_a_manager_reaches_no_facility_data(
    bot: Bot, settings: Settings, clock: FakeClock
) -> None:
    await linked_manager(bot, "DEMO01", "manager", clock())
    before = state(settings)
    for data in (
        f"fa:{facility_id(settings.db_path, 'DEMO01')}",
        f"fa:{facility_id(settings.db_path, 'DEMO02')}",
        "ex:2026:xlsx:-:-",
        "st:rm:1",
        "st:rmok:1",
    ):
        [reply] = await press(bot, "manager", data)
        assert "chỉ dành cho cán bộ" in reply.text and "DEMO" not in reply.text
    assert state(settings) == before


async def test_malformed_staff_buttons_are_stale_not_errors(bot: Bot) -> None:
    await make_staff(bot, "console:admin", Role.ADMIN)
    for data in ("fa:x", "fa:999999", "ex:20:xlsx:-:-", "ex:2026:pdf:-:-", "st:rm:x", "st:zz:1"):
        [reply] = await press(bot, "admin", data)
        assert "không còn hiệu lực" in reply.text


async def test_a_revoked_officer_is_refused_on_the_very_next_press(
    bot: Bot, settings: Settings
) -> None:
    await make_staff(bot, "console:officer", Role.PROVINCE)
    officer = Chat(bot, "officer")
    assert "Chọn một" in await officer.say("/facility bún")
    await make_staff(bot, "console:admin", Role.ADMIN)
    assert "không còn quyền cán bộ" in await Chat(bot, "admin").say("/staff remove console:officer")
    [reply] = await press(bot, "officer", f"fa:{facility_id(settings.db_path, 'DEMO01')}")
    assert "chỉ dành cho cán bộ" in reply.text


async def test_help_shows_staff_commands_only_to_staff_and_role_changes_only_to_admins(
    bot: Bot, clock: FakeClock
) -> None:
    manager_help = await (await linked_manager(bot, "DEMO01", "manager", clock())).say("/help")
    assert "/profile" in manager_help and "/export" not in manager_help
    assert "/export" not in await Chat(bot, "stranger").say("/help")
    await make_staff(bot, "console:province", Role.PROVINCE)
    province_help = await Chat(bot, "province").say("/help")
    assert "Dành cho cán bộ Sở:" in province_help
    assert "/export" in province_help and "/facility" in province_help
    assert "/staff" not in province_help
    assert "chưa được liên kết" not in province_help  # staff are not told to link a facility
    await make_staff(bot, "console:admin", Role.ADMIN)
    assert "/staff" in await Chat(bot, "admin").say("/help")


async def test_an_administrator_grants_and_revokes_roles_from_the_chat(
    bot: Bot, settings: Settings
) -> None:
    await make_staff(bot, "console:admin", Role.ADMIN)
    admin = Chat(bot, "admin")
    reply = (await admin.say("/staff add console:officer xa Tam Thanh")).strip()
    assert reply == "Xong: console:officer nay là cán bộ cấp xã — phường Tam Thanh."
    assert "Dành cho cán bộ Sở:" in await Chat(bot, "officer").say("/help")
    assert "Hãy cho biết xã/phường" in await admin.say("/staff add console:x commune")
    assert "Vai trò là một trong" in await admin.say("/staff add console:x boss")
    listing = await admin.channel.send("/staff")
    assert "console:officer — cán bộ cấp xã — phường Tam Thanh" in listing[0].text
    [revoke_button] = [b for row in listing[0].buttons for b in row if "console:officer" in b.label]
    [confirm] = await press(bot, "admin", revoke_button.data)
    assert "Thu hồi quyền của console:officer" in confirm.text
    yes = next(b for row in confirm.buttons for b in row if b.label == "Có, thu hồi")
    [done] = await press(bot, "admin", yes.data)
    assert done.text == "console:officer không còn quyền cán bộ."
    assert "chỉ dành cho cán bộ" in await Chat(bot, "officer").say("/export")
    assert "không thể tự thu hồi" in await admin.say("/staff remove console:admin")
    actions = [
        (actor, action, target) for actor, action, target, _f in audit_rows(settings.db_path)
    ]
    assert ("console:admin", "role.grant", "console:officer") in actions
    assert ("console:admin", "role.revoke", "console:officer") in actions


async def test_myid_tells_anyone_their_id_and_role(bot: Bot) -> None:
    reply = (await Chat(bot, "who").say("/myid")).strip()
    assert reply == "Mã của anh/chị: console:who. Vai trò: không có vai trò."


async def test_exports_from_the_console_point_to_the_command_line(
    bot: Bot, settings: Settings
) -> None:
    await make_staff(bot, "console:province", Role.PROVINCE)
    menu = await Chat(bot, "province").say("/export 2026")
    assert "1. Excel (XLSX)" in menu and "2. CSV (zip)" in menu
    reply = await Chat(bot, "province").say("1")
    assert "sxsh-bot export --year 2026 --format xlsx" in reply
    assert [row for row in audit_rows(Path(settings.db_path)) if row[1] == "export"] == []


async def test_the_refusal_follows_the_users_language(bot: Bot) -> None:
    stranger = Chat(bot, "stranger")
    await stranger.say("/lang en")
    reply = await stranger.say("/export")
    assert "This is for staff of the Department of Industry and Trade only." in reply
    assert "console:stranger" in reply
