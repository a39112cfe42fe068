"""merge the analytics branches (0015 report, 0016 tags, segments and experiments), which were
written side by side on 0014: one head again

Revision ID: 0017
Revises: 0015, 0016
Create Date: 2026-11-26 19:20:00.000000
"""

from __future__ import annotations

revision = "0017"
down_revision = ("0015", "0016")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
