"""Who may see what: roles, the facilities each role reaches, and the refusal.

Every staff command and every staff button calls `staff_access` (or `role_of`) on each
call; nothing about a person's rights is remembered in a session or carried in button
data. Button data names only *what* is asked for (a facility, a commune, a year); the
presser's scope is looked up again on the press, so a forged or forwarded button
reaches nothing its presser may not see.

Roles, from most to least:

* administrator — Telegram ids in `SXSH_ADMIN_IDS`, or granted (`sxsh-bot staff add`);
  sees everything and grants or revokes roles;
* province staff — sees every facility;
* commune staff — sees the facilities of one commune;
* facility manager — a chat linked to a facility by an invitation; sees that facility;
* nobody — everyone else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Literal

from bot import audit
from bot.geo import communes, find_commune
from bot.i18n import N_, tr
from bot.settings import Settings
from bot.storage.facilities import Facility
from bot.storage.snapshot import FacilityFilter
from bot.storage.store import Store
from bot.storage.users import ChatUser
from flows.textmatch import fold

if TYPE_CHECKING:
    from bot.dispatcher import Turn

CHANNELS = ("telegram", "zalo", "console")


class Role(StrEnum):
    ADMIN = "admin"
    PROVINCE = "province"
    COMMUNE = "commune"
    MANAGER = "manager"
    NONE = "none"

    @property
    def is_staff(self) -> bool:
        return self in (Role.ADMIN, Role.PROVINCE, Role.COMMUNE)

    def label(self, lang: str) -> str:
        return tr(lang, ROLE_LABELS[self])


ROLE_LABELS = {
    Role.ADMIN: N_("administrator"),
    Role.PROVINCE: N_("province staff"),
    Role.COMMUNE: N_("commune staff"),
    Role.MANAGER: N_("facility manager"),
    Role.NONE: N_("no role"),
}

# What people type for a role they grant, folded: "tỉnh", "xa", "admin"…
_ROLE_WORDS = {
    Role.ADMIN: {"admin", "administrator", "quan tri", "quan tri vien"},
    Role.PROVINCE: {"province", "tinh", "cap tinh", "can bo tinh"},
    Role.COMMUNE: {"commune", "xa", "phuong", "cap xa", "xa/phuong", "can bo xa"},
}


def parse_role(text: str) -> Role | None:
    """A role that can be granted (admin, province, commune), from what was typed."""
    folded = fold(text)
    for role, words in _ROLE_WORDS.items():
        if folded in words:
            return role
    return None


@dataclass(frozen=True)
class Person:
    """Someone on a channel, as staff name them: "telegram:123456"."""

    channel: str
    external_id: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.external_id}"


def parse_person(text: str) -> Person | None:
    channel, sep, external_id = text.strip().partition(":")
    channel, external_id = channel.strip().lower(), external_id.strip()
    if not sep or channel not in CHANNELS or not external_id or " " in external_id:
        return None
    if channel == "telegram" and not external_id.lstrip("-").isdigit():
        return None
    # Zalo ids are strings of letters and digits ("7c4e0a91d2b35f6e8a10").
    if channel == "zalo" and not (external_id.isascii() and external_id.isalnum()):
        return None
    return Person(channel, external_id)


def person_of(user: ChatUser) -> Person:
    return Person(user.channel, user.external_id)


@dataclass(frozen=True)
class Scope:
    """The facilities someone may see: all, one commune's, one, or none."""

    kind: Literal["all", "commune", "facility", "none"]
    commune_code: str | None = None
    facility_id: int | None = None

    def allows(self, facility: Facility) -> bool:
        if self.kind == "all":
            return True
        if self.kind == "commune":
            return facility.commune_code == self.commune_code
        if self.kind == "facility":
            return facility.id == self.facility_id
        return False

    def narrow(
        self, commune_code: str | None = None, sector_code: str | None = None
    ) -> FacilityFilter | None:
        """The facilities asked for, within this scope; None if the request reaches
        outside it (another commune) or the scope is empty."""
        if self.kind == "none":
            return None
        if self.kind == "commune":
            if commune_code is not None and commune_code != self.commune_code:
                return None
            commune_code = self.commune_code
        facility_id = self.facility_id if self.kind == "facility" else None
        return FacilityFilter(commune_code, sector_code, facility_id)

    def describe(self, lang: str) -> str:
        if self.kind == "all":
            return tr(lang, "the whole province")
        if self.kind == "commune":
            return commune_name(self.commune_code)
        if self.kind == "facility":
            return tr(lang, "one facility")
        return tr(lang, "nothing")


@dataclass(frozen=True)
class Access:
    role: Role
    scope: Scope
    # Where the role comes from: "settings" (SXSH_ADMIN_IDS), "staff", "link" or "".
    source: str = ""

    @property
    def is_staff(self) -> bool:
        return self.role.is_staff

    def describe(self, lang: str) -> str:
        if self.role is Role.COMMUNE:
            return f"{self.role.label(lang)} — {self.scope.describe(lang)}"
        return self.role.label(lang)


NO_ACCESS = Access(Role.NONE, Scope("none"))


@cache
def _commune_names() -> dict[str, str]:
    return {commune.code: commune.full_name for commune in communes()}


def commune_name(code: str | None) -> str:
    """'phường Tam Thanh' for a code; the code itself if it is not a known commune."""
    return _commune_names().get(code or "", code or "")


async def role_of(store: Store, user: ChatUser, settings: Settings) -> Access:
    """The user's role and scope, read afresh (called on every staff command and press)."""
    if user.channel == "telegram" and user.external_id in {str(i) for i in settings.admin_ids}:
        return Access(Role.ADMIN, Scope("all"), "settings")
    grant = await store.staff.get(user.channel, user.external_id)
    if grant is not None:
        role = Role(grant.role)
        if role is Role.COMMUNE:
            return Access(role, Scope("commune", commune_code=grant.commune_code), "staff")
        return Access(role, Scope("all"), "staff")
    if user.facility_id is not None:
        return Access(Role.MANAGER, Scope("facility", facility_id=user.facility_id), "link")
    return NO_ACCESS


async def staff_access(turn: Turn, *, admin_only: bool = False) -> Access | None:
    """The caller's access if they may use a staff command; otherwise reply with a
    refusal (and nothing else) and return None."""
    access = await role_of(turn.store, turn.user, turn.settings)
    if not access.is_staff:
        turn.reply(
            turn.t(
                "This is for staff of the Department of Industry and Trade only. If you work "
                "at the Department, ask an administrator for access and give them your id: "
                "{person}",
                person=str(person_of(turn.user)),
            )
        )
        return None
    if admin_only and access.role is not Role.ADMIN:
        turn.reply(turn.t("Only an administrator can grant or revoke staff roles."))
        return None
    return access


def refuse_outside_scope(turn: Turn, access: Access) -> None:
    turn.reply(
        turn.t(
            "You can only see the facilities of {scope}. Nothing was shown.",
            scope=access.scope.describe(turn.lang),
        )
    )


@dataclass(frozen=True)
class RoleChange:
    person: Person
    role: Role
    commune_code: str | None


class RoleProblem(ValueError):
    """What is wrong with a typed /staff add; the msgid to show."""


def parse_grant(words: list[str]) -> RoleChange:
    """["telegram:123", "commune", "Tam", "Thanh"] -> a role change."""
    if len(words) < 2:
        raise RoleProblem(N_("Give a person and a role, for example: telegram:123456 province"))
    person = parse_person(words[0])
    if person is None:
        raise RoleProblem(N_("Name the person as channel:id, for example telegram:123456."))
    role = parse_role(words[1])
    if role is None:
        raise RoleProblem(N_("The role is one of: admin, province, commune."))
    commune_code = None
    if role is Role.COMMUNE:
        commune = find_commune(" ".join(words[2:])) if words[2:] else None
        if commune is None:
            raise RoleProblem(
                N_(
                    "Commune staff need their commune, for example: "
                    "telegram:123456 commune Tam Thanh"
                )
            )
        commune_code = commune.code
    elif words[2:]:
        raise RoleProblem(N_("Only commune staff have a commune."))
    return RoleChange(person, role, commune_code)


async def grant_role(
    store: Store,
    person: Person,
    role: Role,
    commune_code: str | None,
    actor: str,
    now: datetime,
) -> None:
    """Give `person` a staff role (replacing any other) and write it to the audit log."""
    if not role.is_staff:
        raise ValueError(f"{role} is not a staff role")
    if (role is Role.COMMUNE) != (commune_code is not None):
        raise ValueError("commune staff need a commune, and only they have one")
    previous = await store.staff.get(person.channel, person.external_id)
    await store.staff.grant(person.channel, person.external_id, role, commune_code, actor, now)
    await store.audit.record(
        now,
        actor,
        audit.ROLE_GRANT,
        target=str(person),
        detail={
            "role": str(role),
            "commune": commune_code,
            "previous": previous.role if previous else None,
        },
    )


async def revoke_role(store: Store, person: Person, actor: str, now: datetime) -> bool:
    """Take a person's staff role away (audited); False if they had none."""
    previous = await store.staff.get(person.channel, person.external_id)
    if previous is None:
        return False
    await store.staff.revoke(person.channel, person.external_id)
    await store.audit.record(
        now,
        actor,
        audit.ROLE_REVOKE,
        target=str(person),
        detail={"role": previous.role, "commune": previous.commune_code},
    )
    return True
