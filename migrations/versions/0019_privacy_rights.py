"""privacy: data export requests, account deletion requests, legal holds, replica rewrites

Revision ID: 0019
Revises: 0017
Create Date: 2026-11-27 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import livecircle.kit.db

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None

UTC = livecircle.kit.db.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "privacy_export",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("file_name", sa.String(length=64), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("ready_at", UTC, nullable=True),
        sa.Column("expires_at", UTC, nullable=True),
        sa.Column("downloaded_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_user.id"],
            name=op.f("fk_privacy_export_user_id_identity_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_export")),
    )
    op.create_index("ix_privacy_export_user_created", "privacy_export", ["user_id", "created_at"])

    op.create_table(
        "privacy_deletion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("pseudonym", sa.Integer(), nullable=True),
        sa.Column("aliases", sa.JSON(), nullable=True),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("requested_at", UTC, nullable=False),
        sa.Column("erase_at", UTC, nullable=False),
        sa.Column("started_at", UTC, nullable=True),
        sa.Column("completed_at", UTC, nullable=True),
        sa.Column("cancelled_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_user.id"],
            name=op.f("fk_privacy_deletion_user_id_identity_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_deletion")),
    )
    op.create_index("ix_privacy_deletion_user_status", "privacy_deletion", ["user_id", "status"])

    op.create_table(
        "privacy_legal_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pseudonym", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("row_key", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("hold_until", UTC, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_legal_hold")),
    )
    op.create_index("ix_privacy_legal_hold_pseudonym", "privacy_legal_hold", ["pseudonym", "table_name"])

    op.create_table(
        "privacy_replica_rewrite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("keys", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_replica_rewrite")),
    )


def downgrade() -> None:
    op.drop_table("privacy_replica_rewrite")
    op.drop_index("ix_privacy_legal_hold_pseudonym", table_name="privacy_legal_hold")
    op.drop_table("privacy_legal_hold")
    op.drop_index("ix_privacy_deletion_user_status", table_name="privacy_deletion")
    op.drop_table("privacy_deletion")
    op.drop_index("ix_privacy_export_user_created", table_name="privacy_export")
    op.drop_table("privacy_export")
