"""analytics: post-show reports (data, HTML, PDF) and show targets

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import livecircle.kit.db

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("show_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("built_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("build_seconds", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["show_id"],
            ["live_show.id"],
            name=op.f("fk_analytics_report_show_id_live_show"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["identity_tenant.id"],
            name=op.f("fk_analytics_report_tenant_id_identity_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_report")),
        sa.UniqueConstraint("show_id", name=op.f("uq_analytics_report_show_id")),
    )
    with op.batch_alter_table("analytics_report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analytics_report_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "analytics_show_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("show_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["show_id"],
            ["live_show.id"],
            name=op.f("fk_analytics_show_target_show_id_live_show"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_show_target")),
        sa.UniqueConstraint("show_id", "metric", name="uq_analytics_show_target_show_metric"),
    )
    with op.batch_alter_table("analytics_show_target", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analytics_show_target_show_id"), ["show_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("analytics_show_target", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analytics_show_target_show_id"))
    op.drop_table("analytics_show_target")
    with op.batch_alter_table("analytics_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analytics_report_tenant_id"))
    op.drop_table("analytics_report")
