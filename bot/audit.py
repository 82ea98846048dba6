"""The audit log as people read it: who, when (Vietnam time), what, with which filter.

Entries are written by the code that does the thing, in the same transaction (an
invitation and its audit entry commit together); this module names the actions and
prints them.
"""

from __future__ import annotations

import getpass
from zoneinfo import ZoneInfo

from bot.clock import VIETNAM, show_datetime
from bot.i18n import N_, tr
from bot.storage.audit import AuditEntry

EXPORT = "export"
ROLE_GRANT = "role.grant"
ROLE_REVOKE = "role.revoke"
INVITE = "invite"
BROADCAST = "broadcast"

ACTION_LABELS = {
    EXPORT: N_("export"),
    ROLE_GRANT: N_("role granted"),
    ROLE_REVOKE: N_("role revoked"),
    INVITE: N_("invitation issued"),
    BROADCAST: N_("announcement sent"),
}


def cli_actor() -> str:
    """Who runs the command line: the operating-system account."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _pairs(values: dict[str, object]) -> str:
    return " ".join(f"{key}={value}" for key, value in sorted(values.items()))


def describe(entry: AuditEntry, lang: str, zone: ZoneInfo = VIETNAM) -> str:
    """One tab-separated line: time, who, what, about whom/what, filter, details."""
    action = (
        tr(lang, ACTION_LABELS[entry.action]) if entry.action in ACTION_LABELS else entry.action
    )
    return "\t".join(
        [
            show_datetime(entry.at, zone),
            entry.actor,
            action,
            entry.target or "",
            _pairs(entry.filter),
            _pairs(entry.detail),
        ]
    )
