"""merge the trust branches (0018 audit log, 0019 data rights, 0020 consent and retention),
which were written side by side on 0017: one head again

Revision ID: 0021
Revises: 0018, 0019, 0020
Create Date: 2026-11-26 20:15:00.000000
"""

from __future__ import annotations

revision = "0021"
down_revision = ("0018", "0019", "0020")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
