"""Script templates: a show's script saved under a name, to apply to another show."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, Erase, not_personal, personal


class ScriptTemplate(Base):
    """``steps``: the steps' specs as the API takes them (``StepIn``), offsets included."""

    __tablename__ = "interaction_script_template"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_interaction_script_template_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80), info=not_personal("an operator's name for a show script"))
    steps: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, info=not_personal("a show script's steps: offsets, conditions and actions")
    )
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("identity_user.id", ondelete="SET NULL"),
        default=None,
        info=personal(
            Category.ACTIVITY,
            "which host saved a show script as a template",
            subject=True,
            erase=Erase.ANONYMISE,
        ),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
