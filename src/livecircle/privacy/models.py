"""Data-rights tables: export requests, account deletion requests, legal holds, and the replica
rewrites the analytics nodes apply after an erasure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, Erase, not_personal, personal

# export states
PENDING, BUILDING, READY, FAILED, EXPIRED = "pending", "building", "ready", "failed", "expired"
# deletion states
SCHEDULED, RUNNING, DONE, CANCELLED = "scheduled", "running", "done", "cancelled"


class ExportRequest(Base):
    """A member's request for a copy of their data; the file lives under ``var/exports``."""

    __tablename__ = "privacy_export"
    # The retention purge goes by the link's expiry, not the request's time.
    __table_args__ = (
        Index("ix_privacy_export_user_created", "user_id", "created_at"),
        {"info": {"retention_at": "expires_at"}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        info=personal(
            Category.ACTIVITY,
            "the member's requests for a copy of their data",
            retention="session",
            subject=True,
        ),
    )
    tenant_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    # Part of the signed link: a new build (or a revoked link) changes it, so old links stop working.
    nonce: Mapped[str] = mapped_column(String(32))
    file_name: Mapped[str | None] = mapped_column(
        String(64), default=None, info=not_personal("a random file name under var/exports")
    )
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None, info=not_personal("why a build failed"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    downloaded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class DeletionRequest(Base):
    """A member's request to delete their account. After the erasure it stays as the proof of
    deletion: the account is then named only by its keyed pseudonym."""

    __tablename__ = "privacy_deletion"
    __table_args__ = (Index("ix_privacy_deletion_user_status", "user_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity_user.id", ondelete="SET NULL"),
        info=personal(
            Category.IDENTITY,
            "the member's request to delete their account",
            subject=True,
            erase=Erase.ANONYMISE,
        ),
    )
    tenant_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default=SCHEDULED)
    pseudonym: Mapped[int | None] = mapped_column(
        Integer, default=None, info=not_personal("the keyed pseudonym of an erased account: names nobody")
    )
    # The device and anonymous ids to erase with the account: kept only while the erasure runs.
    aliases: Mapped[list[str] | None] = mapped_column(
        JSON,
        default=None,
        info=personal(
            Category.DEVICE, "anonymous ids erased with the account", subject=False, erase=Erase.ANONYMISE
        ),
    )
    progress: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, info=not_personal("tables done and rows changed by the erasure")
    )
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    erase_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class LegalHold(Base):
    """A row the law makes us keep after its subject's erasure, in a restricted, audit-only
    state: its personal fields now hold the subject's pseudonym, and only this record (read by
    auditors) says which rows belong to one pseudonym, and why and until when they are kept."""

    __tablename__ = "privacy_legal_hold"
    __table_args__ = (Index("ix_privacy_legal_hold_pseudonym", "pseudonym", "table_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pseudonym: Mapped[int] = mapped_column(Integer)
    table_name: Mapped[str] = mapped_column(String(64), info=not_personal("a table's name"))
    row_key: Mapped[str] = mapped_column(String(200), info=not_personal("the held row's primary key"))
    reason: Mapped[str] = mapped_column(
        String(300), info=not_personal("the purpose the law keeps the row for")
    )
    hold_until: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ReplicaRewrite(Base):
    """Rows an erasure rewrote in a replicated table (the analytics events): every node re-reads
    them into its own replica (by id cursor), so all replicas converge."""

    __tablename__ = "privacy_replica_rewrite"

    id: Mapped[int] = mapped_column(primary_key=True)
    table_name: Mapped[str] = mapped_column(String(64), info=not_personal("a table's name"))
    keys: Mapped[list[int]] = mapped_column(JSON, info=not_personal("row numbers to re-read: no data"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
