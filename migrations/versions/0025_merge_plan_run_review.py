"""merge the plan → run → review branches (0022 marketing campaigns, 0023 content planning,
0024 run-of-show scripts), which were written side by side on 0021: one head again

Revision ID: 0025
Revises: 0022, 0023, 0024
Create Date: 2026-11-26 21:00:00.000000
"""

from __future__ import annotations

revision = "0025"
down_revision = ("0022", "0023", "0024")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
