"""interaction co-host (连麦) requests

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import livecircle.kit.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ACTIVE_WHERE = sa.text("status IN ('applied', 'invited', 'accepted')")


def upgrade() -> None:
    op.create_table(
        "interaction_cohost_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("show_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("tier_rank", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("applied_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("closed_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("cooldown_until", livecircle.kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('applied', 'invited', 'accepted', 'rejected', 'declined', 'removed', 'left', "
            "'cancelled', 'ended')",
            name=op.f("ck_interaction_cohost_request_status_known"),
        ),
        sa.CheckConstraint(
            "source IN ('apply', 'invite')", name=op.f("ck_interaction_cohost_request_source_known")
        ),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["live_room.id"],
            name=op.f("fk_interaction_cohost_request_room_id_live_room"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["show_id"],
            ["live_show.id"],
            name=op.f("fk_interaction_cohost_request_show_id_live_show"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["identity_tenant.id"],
            name=op.f("fk_interaction_cohost_request_tenant_id_identity_tenant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_user.id"],
            name=op.f("fk_interaction_cohost_request_user_id_identity_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction_cohost_request")),
    )
    with op.batch_alter_table("interaction_cohost_request", schema=None) as batch_op:
        batch_op.create_index(
            "ix_interaction_cohost_request_one_active",
            ["show_id", "user_id"],
            unique=True,
            sqlite_where=ACTIVE_WHERE,
            postgresql_where=ACTIVE_WHERE,
        )
        batch_op.create_index(
            "ix_interaction_cohost_request_show_status", ["show_id", "status"], unique=False
        )
        batch_op.create_index("ix_interaction_cohost_request_room_user", ["room_id", "user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("interaction_cohost_request", schema=None) as batch_op:
        batch_op.drop_index("ix_interaction_cohost_request_room_user")
        batch_op.drop_index("ix_interaction_cohost_request_show_status")
        batch_op.drop_index("ix_interaction_cohost_request_one_active")
    op.drop_table("interaction_cohost_request")
