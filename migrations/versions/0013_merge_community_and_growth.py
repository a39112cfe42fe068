"""merge the community and growth branches (0009 → 0012 community and discussion, 0010 notify,
0011 invites), which were written side by side: one head again

Revision ID: 0013
Revises: 0010, 0011, 0012
Create Date: 2026-11-26 13:00:00.000000
"""

from __future__ import annotations

revision = "0013"
down_revision = ("0010", "0011", "0012")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
