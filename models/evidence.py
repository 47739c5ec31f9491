"""Evidence and review, shared by every feature that asks a branch to prove something to its superior.

Evidence is a file (a photo, a scanned page) attached to a subject (a meeting, a duty check-in, later a
standardization item) with where and when it was taken, what the server found in it, and a verdict: flags with
reasons. Nothing is thrown away for a bad verdict; the flags are for the reviewer. A review is one decision of a
superior on a subject: pass, return with a reason, or a comment.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import IdMixin, TimestampMixin, UTCDateTime, db, utcnow, value_enum
from models.org import CoordSys


class EvidenceSubject(enum.StrEnum):
    MEETING = "meeting"  # scene photos of a meeting
    MEETING_MINUTES = "meeting_minutes"  # photographed pages of the minutes
    DUTY_CHECKIN = "duty_checkin"  # the live photo of a check-in


class EvidenceKind(enum.StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"


class Evidence(TimestampMixin, db.Model):
    """One uploaded file. `client_id` (chosen by the phone) makes a retried upload land on the same row."""

    __tablename__ = "evidence"
    __table_args__ = (
        UniqueConstraint("uploaded_by", "client_id"),
        Index("ix_evidence_subject", "subject_type", "subject_id"),
        # Each chunk index also holds the whole pHash, so the reuse lookup filters by distance inside the index
        # and touches table rows only for real matches (services.evidence.similar_photos).
        *(Index(f"ix_evidence_chunk{i}_phash", f"phash_c{i}", "phash") for i in range(4)),
    )

    subject_type: Mapped[EvidenceSubject] = mapped_column(value_enum(EvidenceSubject))
    subject_id: Mapped[int] = mapped_column(Integer)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)  # for the scope check
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("members.id"))
    client_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[EvidenceKind] = mapped_column(value_enum(EvidenceKind), default=EvidenceKind.PHOTO)

    # Storage keys of the original and the derived copies (display without EXIF, thumbnail, watermarked).
    original_key: Mapped[str] = mapped_column(String(200))
    display_key: Mapped[str | None] = mapped_column(String(200))
    thumb_key: Mapped[str | None] = mapped_column(String(200))
    watermarked_key: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    byte_size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)

    # Perceptual hashes as signed 64-bit integers, and the pHash's four 16-bit chunks, each indexed (see
    # __table_args__): a photo within a few bits of a stored one shares a nearly equal chunk with it.
    phash: Mapped[int | None] = mapped_column(BigInteger)
    dhash: Mapped[int | None] = mapped_column(BigInteger)
    phash_c0: Mapped[int | None] = mapped_column(Integer)
    phash_c1: Mapped[int | None] = mapped_column(Integer)
    phash_c2: Mapped[int | None] = mapped_column(Integer)
    phash_c3: Mapped[int | None] = mapped_column(Integer)

    # Where and when the phone says it was taken (in the system the phone read), and when it arrived.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    coord_sys: Mapped[CoordSys | None] = mapped_column(value_enum(CoordSys))
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # What the file itself says (EXIF GPS is WGS-84).
    exif_taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exif_latitude: Mapped[float | None] = mapped_column(Float)
    exif_longitude: Mapped[float | None] = mapped_column(Float)
    camera: Mapped[str | None] = mapped_column(String(100))

    # The verdict: flags (e.g. "outside_venue", "reused_photo") with their reasons, and the distance outside
    # the venue fence in metres (0 inside).
    flags: Mapped[list] = mapped_column(JSON, default=list)
    verdict: Mapped[dict] = mapped_column(JSON, default=dict)
    distance_m: Mapped[float | None] = mapped_column(Float)


class ReviewDecision(enum.StrEnum):
    PASS = "pass"
    RETURN = "return"
    COMMENT = "comment"


class Review(IdMixin, db.Model):
    """One decision of a superior on a subject; the history of a record's reviews is its rows in order."""

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_subject", "subject_type", "subject_id"),)

    subject_type: Mapped[str] = mapped_column(String(24))
    subject_id: Mapped[int] = mapped_column(Integer)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    decision: Mapped[ReviewDecision] = mapped_column(value_enum(ReviewDecision))
    comment: Mapped[str | None] = mapped_column(Text)
    score: Mapped[int | None] = mapped_column(Integer)  # the superior's score (0–100), for 双线三评
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
