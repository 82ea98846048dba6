"""The repositories of one transaction, bound to its connection."""

from __future__ import annotations

import aiosqlite

from bot.storage.assessments import AssessmentRepository
from bot.storage.audit import AuditRepository
from bot.storage.broadcasts import BroadcastRepository
from bot.storage.drafts import DraftRepository
from bot.storage.facilities import FacilityRepository
from bot.storage.guidance import GuidanceRepository
from bot.storage.invitations import InvitationRepository
from bot.storage.reminders import ReminderRepository
from bot.storage.reports import ReportRepository
from bot.storage.sessions import SessionRepository
from bot.storage.staff import StaffRepository
from bot.storage.updates import UpdateRepository
from bot.storage.users import UserRepository


class Store:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection
        self.facilities = FacilityRepository(connection)
        self.users = UserRepository(connection)
        self.invitations = InvitationRepository(connection)
        self.updates = UpdateRepository(connection)
        self.drafts = DraftRepository(connection)
        self.sessions = SessionRepository(connection)
        self.reminders = ReminderRepository(connection)
        self.staff = StaffRepository(connection)
        self.audit = AuditRepository(connection)
        self.reports = ReportRepository(connection)
        self.assessments = AssessmentRepository(connection)
        self.guidance = GuidanceRepository(connection)
        self.broadcasts = BroadcastRepository(connection)
