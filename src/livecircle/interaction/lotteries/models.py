"""Lottery tables: the lottery and its rules, prizes, entries, the frozen list and winners."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, Erase, not_personal, personal


class Lottery(Base):
    __tablename__ = "interaction_lottery"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    room_id: Mapped[int] = mapped_column(ForeignKey("live_room.id", ondelete="CASCADE"), index=True)
    show_id: Mapped[int | None] = mapped_column(ForeignKey("live_show.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(200), info=not_personal("a lottery's title, set by the host"))
    # [{"kind": "keyword", "keyword": "..."}, {"kind": "follows"}, {"kind": "tier", "tier": "premium"}, ...]
    rules: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, info=not_personal("a lottery's entry conditions, set by the host")
    )
    status: Mapped[str] = mapped_column(String(12), default="draft")  # draft | open | drawn | cancelled
    duration_s: Mapped[int | None] = mapped_column(Integer)  # None: the host draws
    created_by: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        info=personal(Category.ACTIVITY, "which host created a lottery", subject=True, erase=Erase.ANONYMISE),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    draw_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    # The commitment: sha256(seed) is public from the opening; the seed stays secret until the draw.
    seed_hex: Mapped[str | None] = mapped_column(String(64), default=None)
    seed_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    list_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    entrants: Mapped[int | None] = mapped_column(Integer, default=None)  # size of the frozen list
    drawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class LotteryPrize(Base):
    __tablename__ = "interaction_lottery_prize"
    __table_args__ = (UniqueConstraint("lottery_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lottery_id: Mapped[int] = mapped_column(ForeignKey("interaction_lottery.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))  # points | gift (coins to the wallet) | coupon | physical
    name: Mapped[str] = mapped_column(String(100), info=not_personal("a prize, set by the host"))
    quantity: Mapped[int] = mapped_column(Integer)  # winners of this prize
    amount: Mapped[int] = mapped_column(Integer, default=0)  # points or coins per winner
    coupon_template_id: Mapped[int | None] = mapped_column(
        ForeignKey("commerce_coupon_template.id", ondelete="SET NULL"), default=None
    )


class LotteryEntry(Base):
    """A viewer who joined (参与). Saying the keyword in chat also enters, at the draw."""

    __tablename__ = "interaction_lottery_entry"
    __table_args__ = (UniqueConstraint("lottery_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lottery_id: Mapped[int] = mapped_column(ForeignKey("interaction_lottery.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        index=True,
        info=personal(Category.ACTIVITY, "lotteries the member entered", retention="activity", subject=True),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class LotteryTicket(Base):
    """The frozen eligible list, in the published order: ``code`` is what the audit shows."""

    __tablename__ = "interaction_lottery_ticket"
    __table_args__ = (
        UniqueConstraint("lottery_id", "position", name="uq_interaction_lottery_ticket_position"),
        UniqueConstraint("lottery_id", "user_id", name="uq_interaction_lottery_ticket_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lottery_id: Mapped[int] = mapped_column(ForeignKey("interaction_lottery.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        info=personal(
            Category.ACTIVITY,
            "the member's ticket in a drawn lottery's frozen list",
            retention="activity",
            subject=True,
            erase=Erase.ANONYMISE,
        ),
    )
    code: Mapped[str] = mapped_column(
        String(32),
        info=personal(
            Category.ACTIVITY,
            "the ticket's public code (derived from the member's id)",
            retention="activity",
            erase=Erase.ANONYMISE,
        ),
    )


class LotteryWinner(Base):
    __tablename__ = "interaction_lottery_winner"
    __table_args__ = (
        UniqueConstraint("lottery_id", "rank", name="uq_interaction_lottery_winner_rank"),
        UniqueConstraint("lottery_id", "user_id", name="uq_interaction_lottery_winner_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lottery_id: Mapped[int] = mapped_column(ForeignKey("interaction_lottery.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer)  # order of the draw, from 1
    ticket: Mapped[int] = mapped_column(Integer)  # position in the frozen list
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        index=True,
        info=personal(
            Category.COMMERCE,
            "prizes the member won",
            retention="commerce",
            subject=True,
            erase=Erase.ANONYMISE,
        ),
    )
    prize_id: Mapped[int] = mapped_column(ForeignKey("interaction_lottery_prize.id", ondelete="CASCADE"))
    # awarded (points, coins, coupon handed out) | awaiting_address | address_given | shipped | failed
    status: Mapped[str] = mapped_column(String(16))
    address: Mapped[dict[str, Any] | None] = mapped_column(
        JSON,
        default=None,
        info=personal(
            Category.COMMERCE,
            "where a physical prize is shipped",
            retention="commerce",
            erase=Erase.ANONYMISE,
        ),
    )
    note: Mapped[str | None] = mapped_column(
        String(200),
        default=None,
        info=personal(
            Category.COMMERCE, "the shipping note of a prize", retention="commerce", erase=Erase.ANONYMISE
        ),
    )
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
