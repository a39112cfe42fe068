"""analytics: tag rules, user tags (latest run, with reasons) and profiling opt-out

Revision ID: 0016
Revises: 0014
Create Date: 2026-11-26 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import livecircle.kit.db

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_tag_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["identity_tenant.id"],
            name=op.f("fk_analytics_tag_rule_tenant_id_identity_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_tag_rule")),
        sa.UniqueConstraint("tenant_id", "name", name="uq_analytics_tag_rule_name"),
    )
    with op.batch_alter_table("analytics_tag_rule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analytics_tag_rule_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "analytics_user_tag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reason_en", sa.Text(), nullable=False),
        sa.Column("computed_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_user.id"],
            name=op.f("fk_analytics_user_tag_user_id_identity_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_user_tag")),
        sa.UniqueConstraint("tenant_id", "user_id", "tag", name="uq_analytics_user_tag_tag"),
    )
    with op.batch_alter_table("analytics_user_tag", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_user_tag_user", ["user_id"], unique=False)

    op.create_table(
        "analytics_profile_pref",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("profiling_opt_out", sa.Boolean(), nullable=False),
        sa.Column("updated_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_user.id"],
            name=op.f("fk_analytics_profile_pref_user_id_identity_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_analytics_profile_pref")),
    )


def downgrade() -> None:
    op.drop_table("analytics_profile_pref")
    with op.batch_alter_table("analytics_user_tag", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_user_tag_user")
    op.drop_table("analytics_user_tag")
    with op.batch_alter_table("analytics_tag_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analytics_tag_rule_tenant_id"))
    op.drop_table("analytics_tag_rule")
