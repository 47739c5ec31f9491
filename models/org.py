"""The organisation tree: one row per party organisation, with a materialized path for subtree queries."""

from __future__ import annotations

import enum

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import TimestampMixin, db, value_enum


class OrgLevel(enum.StrEnum):
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"

    @property
    def rank(self) -> int:
        return LEVEL_RANK[self]

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self]


LEVEL_RANK = {OrgLevel.CITY: 0, OrgLevel.COUNTY: 1, OrgLevel.TOWNSHIP: 2, OrgLevel.VILLAGE: 3}
LEVEL_LABELS = {OrgLevel.CITY: "市", OrgLevel.COUNTY: "县区", OrgLevel.TOWNSHIP: "乡镇街道", OrgLevel.VILLAGE: "村社区"}


class OrgKind(enum.StrEnum):
    COMMITTEE = "committee"  # 党委
    WORKING_COMMITTEE = "working_committee"  # 党工委
    GENERAL_BRANCH = "general_branch"  # 党总支
    BRANCH = "branch"  # 党支部
    JOINT_BRANCH = "joint_branch"  # 联合党支部

    @property
    def label(self) -> str:
        return KIND_LABELS[self]

    @property
    def is_branch(self) -> bool:
        """Branches are the leaves: members belong to them and they have no child organisations."""
        return self in (OrgKind.BRANCH, OrgKind.JOINT_BRANCH)


KIND_LABELS = {
    OrgKind.COMMITTEE: "党委",
    OrgKind.WORKING_COMMITTEE: "党工委",
    OrgKind.GENERAL_BRANCH: "党总支",
    OrgKind.BRANCH: "党支部",
    OrgKind.JOINT_BRANCH: "联合党支部",
}


class CoordSys(enum.StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"


class Organisation(TimestampMixin, db.Model):
    __tablename__ = "organisations"

    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[OrgKind] = mapped_column(value_enum(OrgKind))
    level: Mapped[OrgLevel] = mapped_column(value_enum(OrgLevel))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    # "/1/5/23/": ids from the root to this node, each followed by a slash, so that a subtree is
    # `path LIKE '/1/5/%'` (the trailing slash keeps /1/5/ from matching /1/57/). ASCII only, indexed.
    path: Mapped[str] = mapped_column(String(255), default="")
    depth: Mapped[int] = mapped_column(Integer, default=0)
    secretary_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", use_alter=True, name="fk_organisations_secretary_id_members", ondelete="SET NULL")
    )
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    venue_lat: Mapped[float | None] = mapped_column(Float)
    venue_lng: Mapped[float | None] = mapped_column(Float)
    venue_coord_sys: Mapped[CoordSys | None] = mapped_column(value_enum(CoordSys))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Active members whose branch is this organisation. Kept by services.orgs.adjust_member_count in the same
    # transaction as every change of a member's branch or status (`recount_members` repairs it), so that a
    # subtree's member count is a SUM over the organisations' path range (3 ms at the city root) instead of
    # counting 142k member rows (40 ms).
    member_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    parent: Mapped[Organisation | None] = relationship(remote_side="Organisation.id")
    secretary = relationship("Member", foreign_keys=[secretary_id], lazy="select", post_update=True)

    __table_args__ = (
        Index("ix_organisations_parent_active", "parent_id", "active"),
        # Subtree range scans; covering for the subtree statistics (count, branches, members).
        Index("ix_organisations_subtree", "path", "active", "kind", "member_count"),
    )

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.code} {self.name}>"

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(p) for p in self.path.strip("/").split("/") if p]

    def is_within(self, root: Organisation) -> bool:
        """True when this node is `root` or below it."""
        return self.path.startswith(root.path)
