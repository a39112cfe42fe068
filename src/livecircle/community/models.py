"""Community tables: the group and its members (role, and the show or inviter that brought them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, Erase, not_personal, personal


class Community(Base):
    """A group (社群) run by a brand or a host. ``min_tier`` makes it member-only: only
    accounts at that member tier or above may join."""

    __tablename__ = "community_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id"),
        index=True,
        info=personal(Category.ACTIVITY, "who owns a community", subject=True, erase=Erase.ANONYMISE),
    )
    # The room whose host pushes this group's card; None for a brand-wide group.
    room_id: Mapped[int | None] = mapped_column(ForeignKey("live_room.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(
        String(80), info=not_personal("a community's public name, for the brand")
    )
    description: Mapped[str] = mapped_column(
        Text, default="", info=not_personal("a community's public description, for the brand")
    )
    rules: Mapped[str] = mapped_column(
        Text, default="", info=not_personal("a community's public rules, for the brand")
    )  # community rules shown on join
    min_tier: Mapped[str | None] = mapped_column(String(16), default=None)  # participant | premium
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CommunityMember(Base):
    """One row per member; ``show_id`` is the show whose card brought them (attribution),
    ``inviter_id`` the member whose invite link did."""

    __tablename__ = "community_member"
    __table_args__ = (Index("ix_community_member_show_joined", "show_id", "joined_at"),)

    community_id: Mapped[int] = mapped_column(
        ForeignKey("community_group.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
        info=personal(Category.ACTIVITY, "communities the member joined", subject=True),
    )
    role: Mapped[str] = mapped_column(String(8), default="member")  # owner | admin | member
    source: Mapped[str] = mapped_column(String(8), default="page")  # room | invite | page
    show_id: Mapped[int | None] = mapped_column(ForeignKey("live_show.id", ondelete="SET NULL"))
    inviter_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity_user.id", ondelete="SET NULL"),
        info=personal(
            Category.ACTIVITY, "who brought the member into a community", subject=True, erase=Erase.ANONYMISE
        ),
    )
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
