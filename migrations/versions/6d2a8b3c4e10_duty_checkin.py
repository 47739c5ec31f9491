"""duty check-in: geofences, assignments, rosters, check-ins

Revision ID: 6d2a8b3c4e10
Revises: 5c1f0e7a9d21
Create Date: 2026-12-04 12:45:00.000000

Seven new tables (models/duty.py), nothing altered: geofences of organisations, cadres' assignments to villages
with their weekly rosters and approved exceptions (leave, business trips), the check-ins with their verdict, the
departments' inspection visits and their requests for an instant photo check-in.
Coordinates are DOUBLE: MariaDB's FLOAT is single precision, about a metre at these longitudes.
"""

import sqlalchemy as sa
from alembic import op

import models.base  # noqa: F401  (the project's column types, e.g. UTCDateTime)

# revision identifiers, used by Alembic.
revision = "6d2a8b3c4e10"
down_revision = "5c1f0e7a9d21"
branch_labels = None
depends_on = None


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, length=24)


COORD_SYS = ("wgs84", "gcj02")


def upgrade():
    op.create_table(
        "geofences",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("kind", _enum("fencekind", "circle", "polygon"), nullable=False),
        sa.Column("center_lat", sa.Double(), nullable=True),
        sa.Column("center_lng", sa.Double(), nullable=True),
        sa.Column("radius_m", sa.Float(), nullable=True),
        sa.Column("points", sa.JSON(), nullable=True),
        sa.Column("coord_sys", _enum("coordsys", *COORD_SYS), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["members.id"], name=op.f("fk_geofences_created_by_members")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_geofences_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_geofences")),
    )
    with op.batch_alter_table("geofences", schema=None) as batch_op:
        batch_op.create_index("ix_geofences_org_active", ["org_id", "active"], unique=False)

    op.create_table(
        "duty_assignments",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("role", _enum("dutyrole", "first_secretary", "resident_cadre"), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["members.id"], name=op.f("fk_duty_assignments_created_by_members")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_duty_assignments_member_id_members")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_duty_assignments_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_assignments")),
    )
    with op.batch_alter_table("duty_assignments", schema=None) as batch_op:
        batch_op.create_index("ix_duty_assignments_member", ["member_id", "starts_on"], unique=False)
        batch_op.create_index("ix_duty_assignments_org", ["org_id", "starts_on"], unique=False)

    op.create_table(
        "duty_rosters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.Time(), nullable=False),
        sa.Column("ends_at", sa.Time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["duty_assignments.id"],
            name=op.f("fk_duty_rosters_assignment_id_duty_assignments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_rosters")),
        sa.UniqueConstraint("assignment_id", "weekday", name=op.f("uq_duty_rosters_assignment_id_weekday")),
    )

    op.create_table(
        "duty_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum("dutyexceptionkind", "leave", "business_trip"), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("approved_by", sa.Integer(), nullable=False),
        sa.Column("approved_at", models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["approved_by"], ["members.id"], name=op.f("fk_duty_exceptions_approved_by_members")),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["duty_assignments.id"],
            name=op.f("fk_duty_exceptions_assignment_id_duty_assignments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_exceptions")),
    )
    with op.batch_alter_table("duty_exceptions", schema=None) as batch_op:
        batch_op.create_index("ix_duty_exceptions_assignment", ["assignment_id", "starts_on"], unique=False)

    op.create_table(
        "duty_checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("kind", _enum("checkinkind", "checkin", "checkout"), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=False),
        sa.Column("longitude", sa.Double(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=False),
        sa.Column("coord_sys", _enum("coordsys", *COORD_SYS), nullable=False),
        sa.Column("wgs_lat", sa.Double(), nullable=False),
        sa.Column("wgs_lng", sa.Double(), nullable=False),
        sa.Column("read_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("received_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("duty_date", sa.Date(), nullable=False),
        sa.Column("result", _enum("checkinresult", "inside", "outside", "uncertain"), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("fence_id", sa.Integer(), nullable=True),
        sa.Column("timing", _enum("checkintiming", "on_time", "early", "late", "off_roster"), nullable=False),
        sa.Column("flags", sa.String(length=120), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("remark", sa.String(length=200), nullable=True),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("evidence_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["duty_assignments.id"],
            name=op.f("fk_duty_checkins_assignment_id_duty_assignments"),
        ),
        sa.ForeignKeyConstraint(["evidence_id"], ["evidence.id"], name=op.f("fk_duty_checkins_evidence_id_evidence")),
        sa.ForeignKeyConstraint(["fence_id"], ["geofences.id"], name=op.f("fk_duty_checkins_fence_id_geofences")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_duty_checkins_member_id_members")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_duty_checkins_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_checkins")),
        sa.UniqueConstraint("member_id", "client_id", name=op.f("uq_duty_checkins_member_id_client_id")),
    )
    with op.batch_alter_table("duty_checkins", schema=None) as batch_op:
        batch_op.create_index("ix_duty_checkins_device", ["device_id", "member_id"], unique=False)
        batch_op.create_index("ix_duty_checkins_member_read", ["member_id", "read_at"], unique=False)
        batch_op.create_index("ix_duty_checkins_org_date", ["org_id", "duty_date", "member_id"], unique=False)

    op.create_table(
        "duty_inspections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("visited_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("cadre_present", sa.Boolean(), nullable=True),
        sa.Column("notes", sa.String(length=1000), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inspector_id"], ["members.id"], name=op.f("fk_duty_inspections_inspector_id_members")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_duty_inspections_member_id_members")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_duty_inspections_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_inspections")),
    )
    with op.batch_alter_table("duty_inspections", schema=None) as batch_op:
        batch_op.create_index("ix_duty_inspections_org_visited", ["org_id", "visited_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_duty_inspections_member_id"), ["member_id"], unique=False)

    op.create_table(
        "duty_check_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("requested_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("due_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("checkin_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["duty_checkins.id"], name=op.f("fk_duty_check_requests_checkin_id_duty_checkins")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_duty_check_requests_member_id_members")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_duty_check_requests_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["members.id"], name=op.f("fk_duty_check_requests_requested_by_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_check_requests")),
    )
    with op.batch_alter_table("duty_check_requests", schema=None) as batch_op:
        batch_op.create_index("ix_duty_check_requests_member_due", ["member_id", "due_at"], unique=False)
        batch_op.create_index("ix_duty_check_requests_org_requested", ["org_id", "requested_at"], unique=False)


def downgrade():
    # Dropping a table drops its indexes; dropping them first would fail on MariaDB where one backs a foreign key.
    for table in (
        "duty_check_requests",
        "duty_inspections",
        "duty_checkins",
        "duty_exceptions",
        "duty_rosters",
        "duty_assignments",
        "geofences",
    ):
        op.drop_table(table)
