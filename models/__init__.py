"""All models, imported here so that Alembic and `db.create_all` see every table."""

from models.audit import AuditEntry
from models.auth import AuthSession, LoginThrottle
from models.base import db
from models.evidence import Evidence, EvidenceKind, EvidenceSubject, Review, ReviewDecision
from models.export import ExportStatus, MemberExport
from models.meeting import (
    AbsenceReason,
    AttendanceStatus,
    Cadence,
    KindAudience,
    Meeting,
    MeetingAttendee,
    MeetingKind,
    MeetingStatus,
    MeetingTally,
)
from models.member import AccountStatus, Gender, Member, PartyStatus, Role
from models.org import CoordSys, Organisation, OrgKind, OrgLevel
from models.wechat import WeChatApp, WeChatIdentity, WeChatLoginTicket

__all__ = [
    "AbsenceReason",
    "AccountStatus",
    "AttendanceStatus",
    "AuditEntry",
    "AuthSession",
    "Cadence",
    "CoordSys",
    "Evidence",
    "EvidenceKind",
    "EvidenceSubject",
    "ExportStatus",
    "Gender",
    "KindAudience",
    "LoginThrottle",
    "Meeting",
    "MeetingAttendee",
    "MeetingKind",
    "MeetingStatus",
    "MeetingTally",
    "Member",
    "MemberExport",
    "Organisation",
    "OrgKind",
    "OrgLevel",
    "PartyStatus",
    "Review",
    "ReviewDecision",
    "Role",
    "WeChatApp",
    "WeChatIdentity",
    "WeChatLoginTicket",
    "db",
]
