"""growth notifications: inbox, preferences, webhook endpoints, show sign-ups and reminder plans

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-26 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import livecircle.kit.db

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{referred}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "growth_notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("read_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=True),
        _fk("growth_notification", "tenant_id", "identity_tenant.id"),
        _fk("growth_notification", "user_id", "identity_user.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_growth_notification")),
        sa.UniqueConstraint("user_id", "dedupe_key", name="uq_growth_notification_user_dedupe"),
    )
    with op.batch_alter_table("growth_notification", schema=None) as batch_op:
        batch_op.create_index("ix_growth_notification_user_newest", ["user_id", "id"], unique=False)
        batch_op.create_index("ix_growth_notification_user_unread", ["user_id", "read_at"], unique=False)

    op.create_table(
        "growth_notification_preference",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        _fk("growth_notification_preference", "user_id", "identity_user.id"),
        sa.PrimaryKeyConstraint("user_id", "kind", "channel", name=op.f("pk_growth_notification_preference")),
    )

    op.create_table(
        "growth_webhook_endpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        _fk("growth_webhook_endpoint", "created_by", "identity_user.id", ondelete="SET NULL"),
        _fk("growth_webhook_endpoint", "tenant_id", "identity_tenant.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_growth_webhook_endpoint")),
    )
    with op.batch_alter_table("growth_webhook_endpoint", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_growth_webhook_endpoint_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "growth_show_signup",
        sa.Column("show_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        _fk("growth_show_signup", "show_id", "live_show.id"),
        _fk("growth_show_signup", "user_id", "identity_user.id"),
        sa.PrimaryKeyConstraint("show_id", "user_id", name=op.f("pk_growth_show_signup")),
    )
    with op.batch_alter_table("growth_show_signup", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_growth_show_signup_user_id"), ["user_id"], unique=False)

    op.create_table(
        "growth_show_reminder_plan",
        sa.Column("show_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("job_key", sa.String(length=255), nullable=False),
        sa.Column("planned_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        _fk("growth_show_reminder_plan", "show_id", "live_show.id"),
        sa.PrimaryKeyConstraint("show_id", name=op.f("pk_growth_show_reminder_plan")),
    )


def downgrade() -> None:
    op.drop_table("growth_show_reminder_plan")
    with op.batch_alter_table("growth_show_signup", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_growth_show_signup_user_id"))
    op.drop_table("growth_show_signup")
    with op.batch_alter_table("growth_webhook_endpoint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_growth_webhook_endpoint_tenant_id"))
    op.drop_table("growth_webhook_endpoint")
    op.drop_table("growth_notification_preference")
    with op.batch_alter_table("growth_notification", schema=None) as batch_op:
        batch_op.drop_index("ix_growth_notification_user_unread")
        batch_op.drop_index("ix_growth_notification_user_newest")
    op.drop_table("growth_notification")
