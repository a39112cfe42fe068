"""marketing: campaigns, enrolments, once-only send rows and campaign tags

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-27 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import livecircle.kit.db

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

UtcDateTime = livecircle.kit.db.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "marketing_campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("template", sa.String(length=32), nullable=True),
        sa.Column("trigger", sa.JSON(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("holdout_percent", sa.Integer(), nullable=False),
        sa.Column("cap_sends", sa.Integer(), nullable=False),
        sa.Column("cap_days", sa.Integer(), nullable=False),
        sa.Column("quiet_start", sa.Integer(), nullable=False),
        sa.Column("quiet_end", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=40), nullable=False),
        sa.Column("conversion_days", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("activated_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["identity_tenant.id"],
            name=op.f("fk_marketing_campaign_tenant_id_identity_tenant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["identity_user.id"],
            name=op.f("fk_marketing_campaign_created_by_identity_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_campaign")),
    )
    with op.batch_alter_table("marketing_campaign", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_marketing_campaign_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "marketing_enrolment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("entry_key", sa.String(length=64), nullable=False),
        sa.Column("holdout", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("due_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("entered_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_action_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("deferred_step", sa.Integer(), nullable=True),
        sa.Column("finished_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["marketing_campaign.id"],
            name=op.f("fk_marketing_enrolment_campaign_id_marketing_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_user.id"],
            name=op.f("fk_marketing_enrolment_user_id_identity_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_enrolment")),
        sa.UniqueConstraint("campaign_id", "user_id", "entry_key", name="uq_marketing_enrolment_once"),
    )
    with op.batch_alter_table("marketing_enrolment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_marketing_enrolment_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_marketing_enrolment_due", ["status", "due_at"], unique=False)
        batch_op.create_index("ix_marketing_enrolment_user", ["user_id"], unique=False)

    op.create_table(
        "marketing_send",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("entry_key", sa.String(length=64), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("promotional", sa.Boolean(), nullable=False),
        sa.Column("deferred", sa.Boolean(), nullable=False),
        sa.Column("coupon_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("clicked_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["marketing_campaign.id"],
            name=op.f("fk_marketing_send_campaign_id_marketing_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["marketing_enrolment.id"],
            name=op.f("fk_marketing_send_enrolment_id_marketing_enrolment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_user.id"],
            name=op.f("fk_marketing_send_user_id_identity_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_send")),
        sa.UniqueConstraint("campaign_id", "step", "user_id", "entry_key", name="uq_marketing_send_once"),
    )
    with op.batch_alter_table("marketing_send", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_marketing_send_enrolment_id"), ["enrolment_id"], unique=False)
        batch_op.create_index("ix_marketing_send_cap", ["tenant_id", "user_id", "created_at"], unique=False)
        batch_op.create_index("ix_marketing_send_campaign", ["campaign_id", "step", "status"], unique=False)

    op.create_table(
        "marketing_tag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=80), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_user.id"],
            name=op.f("fk_marketing_tag_user_id_identity_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["marketing_campaign.id"],
            name=op.f("fk_marketing_tag_campaign_id_marketing_campaign"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_tag")),
        sa.UniqueConstraint("tenant_id", "user_id", "tag", name="uq_marketing_tag_user_tag"),
    )
    with op.batch_alter_table("marketing_tag", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_marketing_tag_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_marketing_tag_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("marketing_tag")
    op.drop_table("marketing_send")
    op.drop_table("marketing_enrolment")
    op.drop_table("marketing_campaign")
