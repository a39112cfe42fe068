"""Pydantic base for API schemas."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Schema(BaseModel):
    """Strict input (unknown fields refused) and ORM-friendly output."""

    model_config = ConfigDict(from_attributes=True, extra="forbid", str_strip_whitespace=True)
