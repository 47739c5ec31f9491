"""All models, imported here so that Alembic and `db.create_all` see every table."""

from models.audit import AuditEntry
from models.auth import AuthSession, LoginThrottle
from models.base import db
from models.export import ExportStatus, MemberExport
from models.member import AccountStatus, Gender, Member, PartyStatus, Role
from models.org import CoordSys, Organisation, OrgKind, OrgLevel
from models.wechat import WeChatApp, WeChatIdentity, WeChatLoginTicket

__all__ = [
    "AccountStatus",
    "AuditEntry",
    "AuthSession",
    "CoordSys",
    "ExportStatus",
    "Gender",
    "LoginThrottle",
    "Member",
    "MemberExport",
    "Organisation",
    "OrgKind",
    "OrgLevel",
    "PartyStatus",
    "Role",
    "WeChatApp",
    "WeChatIdentity",
    "WeChatLoginTicket",
    "db",
]
