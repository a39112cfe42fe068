"""growth invites: invite records, link opens, users' IPs and devices

Revision ID: 0011
Revises: 0008
Create Date: 2026-11-26 14:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import livecircle.kit.db

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "growth_invite_open",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inviter_id", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("opened_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("opens", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inviter_id"],
            ["identity_user.id"],
            name=op.f("fk_growth_invite_open_inviter_id_identity_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_growth_invite_open")),
        sa.UniqueConstraint("inviter_id", "device", name="uq_growth_invite_open_inviter_device"),
    )
    op.create_table(
        "growth_user_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("last_seen_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_user.id"],
            name=op.f("fk_growth_user_mark_user_id_identity_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_growth_user_mark")),
        sa.UniqueConstraint("user_id", "kind", "value", name="uq_growth_user_mark_user_kind_value"),
    )
    op.create_table(
        "growth_invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("inviter_id", sa.Integer(), nullable=False),
        sa.Column("invitee_id", sa.Integer(), nullable=False),
        sa.Column("registered_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("device", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("evidence", sa.String(length=64), nullable=True),
        sa.Column("first_order_id", sa.Integer(), nullable=True),
        sa.Column("first_order_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("vested_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("vested_by", sa.String(length=8), nullable=True),
        sa.Column("rejected_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("reward_kind", sa.String(length=8), nullable=True),
        sa.Column("reward_ref", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["first_order_id"],
            ["commerce_order.id"],
            name=op.f("fk_growth_invite_first_order_id_commerce_order"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["invitee_id"],
            ["identity_user.id"],
            name=op.f("fk_growth_invite_invitee_id_identity_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inviter_id"],
            ["identity_user.id"],
            name=op.f("fk_growth_invite_inviter_id_identity_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["identity_tenant.id"],
            name=op.f("fk_growth_invite_tenant_id_identity_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_growth_invite")),
        sa.UniqueConstraint("invitee_id", name=op.f("uq_growth_invite_invitee_id")),
    )
    with op.batch_alter_table("growth_invite", schema=None) as batch_op:
        batch_op.create_index("ix_growth_invite_board", ["tenant_id", "status", "vested_at"], unique=False)
        batch_op.create_index("ix_growth_invite_device_registered", ["device", "registered_at"], unique=False)
        batch_op.create_index("ix_growth_invite_inviter_status", ["inviter_id", "status"], unique=False)
        batch_op.create_index("ix_growth_invite_ip_registered", ["ip", "registered_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("growth_invite", schema=None) as batch_op:
        batch_op.drop_index("ix_growth_invite_ip_registered")
        batch_op.drop_index("ix_growth_invite_inviter_status")
        batch_op.drop_index("ix_growth_invite_device_registered")
        batch_op.drop_index("ix_growth_invite_board")

    op.drop_table("growth_invite")
    op.drop_table("growth_user_mark")
    op.drop_table("growth_invite_open")
