"""Analytics tables in the main database (the event log itself is ``kit.tracking``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, personal


class AnonIdentity(Base):
    """An anonymous viewer id that became an account: its events count as the account's."""

    __tablename__ = "analytics_identity"

    id: Mapped[int] = mapped_column(primary_key=True)
    anon_id: Mapped[str] = mapped_column(
        String(64),
        unique=True,
        info=personal(
            Category.DEVICE,
            "counting a viewer's anonymous events as the account's after sign-up",
            retention="analytics_raw",
            alias=True,
            source=True,
        ),
    )
    user_id: Mapped[int] = mapped_column(
        Integer,
        index=True,
        info=personal(
            Category.DEVICE,
            "the account an anonymous id was merged into",
            retention="analytics_raw",
            subject=True,
        ),
    )
    merged_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
