"""analytics planning: topic library, suggestions, shows planned from topics, monthly show
targets, the tenant's default KPI targets; alert rules derived from a show's targets

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import livecircle.kit.db

revision = "0023"
down_revision = "0021"
branch_labels = None
depends_on = None


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"],
        ["identity_tenant.id"],
        name=op.f(f"fk_{table}_tenant_id_identity_tenant"),
        ondelete="CASCADE",
    )


def _tenant_index(table: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_tenant_id"), ["tenant_id"], unique=False)


def upgrade() -> None:
    op.create_table(
        "analytics_plan_topic",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("scenario", sa.String(length=24), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("suggestion_key", sa.String(length=160), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["identity_user.id"],
            name=op.f("fk_analytics_plan_topic_created_by_identity_user"),
            ondelete="SET NULL",
        ),
        _tenant_fk("analytics_plan_topic"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_plan_topic")),
        sa.UniqueConstraint("tenant_id", "suggestion_key", name="uq_analytics_plan_topic_suggestion"),
    )
    _tenant_index("analytics_plan_topic")

    op.create_table(
        "analytics_plan_suggestion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("computed_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        _tenant_fk("analytics_plan_suggestion"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_plan_suggestion")),
        sa.UniqueConstraint("tenant_id", "key", name="uq_analytics_plan_suggestion_key"),
    )
    _tenant_index("analytics_plan_suggestion")

    op.create_table(
        "analytics_plan_show",
        sa.Column("show_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["show_id"],
            ["live_show.id"],
            name=op.f("fk_analytics_plan_show_show_id_live_show"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["analytics_plan_topic.id"],
            name=op.f("fk_analytics_plan_show_topic_id_analytics_plan_topic"),
            ondelete="CASCADE",
        ),
        _tenant_fk("analytics_plan_show"),
        sa.PrimaryKeyConstraint("show_id", name=op.f("pk_analytics_plan_show")),
    )
    _tenant_index("analytics_plan_show")
    with op.batch_alter_table("analytics_plan_show", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analytics_plan_show_topic_id"), ["topic_id"], unique=False)

    op.create_table(
        "analytics_plan_month_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("scenario", sa.String(length=24), nullable=False),
        sa.Column("shows", sa.Integer(), nullable=False),
        _tenant_fk("analytics_plan_month_target"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_plan_month_target")),
        sa.UniqueConstraint("tenant_id", "month", "scenario", name="uq_analytics_plan_month_target"),
    )
    _tenant_index("analytics_plan_month_target")

    op.create_table(
        "analytics_plan_kpi_default",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        _tenant_fk("analytics_plan_kpi_default"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_plan_kpi_default")),
        sa.UniqueConstraint("tenant_id", "metric", name="uq_analytics_plan_kpi_default"),
    )
    _tenant_index("analytics_plan_kpi_default")

    # A plain nullable column: added in place on SQLite too (no table rebuild).
    op.add_column("analytics_alert_rule", sa.Column("show_id", sa.Integer(), nullable=True))
    op.create_index(
        "uq_analytics_alert_rule_show_metric", "analytics_alert_rule", ["show_id", "metric"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_analytics_alert_rule_show_metric", table_name="analytics_alert_rule")
    with op.batch_alter_table("analytics_alert_rule", schema=None) as batch_op:
        batch_op.drop_column("show_id")
    for table in ("analytics_plan_kpi_default", "analytics_plan_month_target"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_tenant_id"))
        op.drop_table(table)
    with op.batch_alter_table("analytics_plan_show", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analytics_plan_show_topic_id"))
        batch_op.drop_index(batch_op.f("ix_analytics_plan_show_tenant_id"))
    op.drop_table("analytics_plan_show")
    for table in ("analytics_plan_suggestion", "analytics_plan_topic"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_tenant_id"))
        op.drop_table(table)
