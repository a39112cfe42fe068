"""community discussion: posts, comments, likes, check-ins, activities, reports

Revision ID: 0012
Revises: 0009
Create Date: 2026-11-26 14:00:00.000000

Its tables refer to ``community_group`` (0009), on which it builds.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import livecircle.kit.db

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str | None = "CASCADE") -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{referred}"), ondelete=ondelete
    )


def _when(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, livecircle.kit.db.UtcDateTime(timezone=True), nullable=False)


def _when_maybe(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, livecircle.kit.db.UtcDateTime(timezone=True), nullable=True)


def upgrade() -> None:
    op.create_table(
        "community_post",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("topic_day", sa.Date(), nullable=True),
        sa.Column("like_count", sa.Integer(), nullable=False),
        sa.Column("comment_count", sa.Integer(), nullable=False),
        sa.Column("open_reports", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.String(length=200), nullable=False),
        _when("created_at"),
        _fk("community_post", "author_id", "identity_user.id"),
        _fk("community_post", "community_id", "community_group.id"),
        _fk("community_post", "tenant_id", "identity_tenant.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community_post")),
        # One daily topic per community and UTC day (other posts leave topic_day NULL).
        sa.UniqueConstraint("community_id", "topic_day", name="uq_community_post_topic_day"),
    )
    with op.batch_alter_table("community_post", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_community_post_author_id"), ["author_id"], unique=False)
        batch_op.create_index("ix_community_post_feed", ["community_id", "id"], unique=False)
        # At most one pinned announcement per community (a partial unique index on both backends).
        batch_op.create_index(
            "uq_community_post_pinned",
            ["community_id"],
            unique=True,
            sqlite_where=sa.text("pinned"),
            postgresql_where=sa.text("pinned"),
        )

    op.create_table(
        "community_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("open_reports", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.String(length=200), nullable=False),
        _when("created_at"),
        _fk("community_comment", "author_id", "identity_user.id"),
        _fk("community_comment", "community_id", "community_group.id"),
        _fk("community_comment", "post_id", "community_post.id"),
        _fk("community_comment", "tenant_id", "identity_tenant.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community_comment")),
    )
    with op.batch_alter_table("community_comment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_community_comment_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_community_comment_community_id"), ["community_id"], unique=False)
        batch_op.create_index("ix_community_comment_post", ["post_id", "id"], unique=False)

    op.create_table(
        "community_post_like",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        _when("created_at"),
        _fk("community_post_like", "post_id", "community_post.id"),
        _fk("community_post_like", "user_id", "identity_user.id"),
        # The primary key is the one-like-per-account rule.
        sa.PrimaryKeyConstraint("post_id", "user_id", name=op.f("pk_community_post_like")),
    )
    with op.batch_alter_table("community_post_like", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_community_post_like_user_id"), ["user_id"], unique=False)

    op.create_table(
        "community_checkin",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("streak", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        _when("created_at"),
        _fk("community_checkin", "comment_id", "community_comment.id", "SET NULL"),
        _fk("community_checkin", "community_id", "community_group.id"),
        _fk("community_checkin", "post_id", "community_post.id"),
        _fk("community_checkin", "user_id", "identity_user.id"),
        sa.PrimaryKeyConstraint("community_id", "user_id", "day", name=op.f("pk_community_checkin")),
    )
    with op.batch_alter_table("community_checkin", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_community_checkin_post_id"), ["post_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_community_checkin_user_id"), ["user_id"], unique=False)

    op.create_table(
        "community_activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        _when("starts_at"),
        _when("ends_at"),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("signups", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        _when("created_at"),
        _fk("community_activity", "community_id", "community_group.id"),
        _fk("community_activity", "created_by", "identity_user.id"),
        _fk("community_activity", "tenant_id", "identity_tenant.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community_activity")),
    )
    with op.batch_alter_table("community_activity", schema=None) as batch_op:
        batch_op.create_index("ix_community_activity_starts", ["community_id", "starts_at"], unique=False)

    op.create_table(
        "community_activity_signup",
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        _when("created_at"),
        _fk("community_activity_signup", "activity_id", "community_activity.id"),
        _fk("community_activity_signup", "user_id", "identity_user.id"),
        sa.PrimaryKeyConstraint("activity_id", "user_id", name=op.f("pk_community_activity_signup")),
    )
    with op.batch_alter_table("community_activity_signup", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_community_activity_signup_user_id"), ["user_id"], unique=False)

    op.create_table(
        "community_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("target_kind", sa.String(length=8), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        _when("created_at"),
        _when_maybe("resolved_at"),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        _fk("community_report", "community_id", "community_group.id"),
        _fk("community_report", "reporter_id", "identity_user.id"),
        _fk("community_report", "resolved_by", "identity_user.id", "SET NULL"),
        _fk("community_report", "tenant_id", "identity_tenant.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community_report")),
        # One report per reporter and target.
        sa.UniqueConstraint("target_kind", "target_id", "reporter_id", name="uq_community_report_reporter"),
    )
    with op.batch_alter_table("community_report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_community_report_community_id"), ["community_id"], unique=False)
        batch_op.create_index(
            "ix_community_report_target", ["target_kind", "target_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("community_report", schema=None) as batch_op:
        batch_op.drop_index("ix_community_report_target")
        batch_op.drop_index(batch_op.f("ix_community_report_community_id"))
    op.drop_table("community_report")
    with op.batch_alter_table("community_activity_signup", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_community_activity_signup_user_id"))
    op.drop_table("community_activity_signup")
    with op.batch_alter_table("community_activity", schema=None) as batch_op:
        batch_op.drop_index("ix_community_activity_starts")
    op.drop_table("community_activity")
    with op.batch_alter_table("community_checkin", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_community_checkin_user_id"))
        batch_op.drop_index(batch_op.f("ix_community_checkin_post_id"))
    op.drop_table("community_checkin")
    with op.batch_alter_table("community_post_like", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_community_post_like_user_id"))
    op.drop_table("community_post_like")
    with op.batch_alter_table("community_comment", schema=None) as batch_op:
        batch_op.drop_index("ix_community_comment_post")
        batch_op.drop_index(batch_op.f("ix_community_comment_community_id"))
        batch_op.drop_index(batch_op.f("ix_community_comment_author_id"))
    op.drop_table("community_comment")
    with op.batch_alter_table("community_post", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_community_post_pinned",
            sqlite_where=sa.text("pinned"),
            postgresql_where=sa.text("pinned"),
        )
        batch_op.drop_index("ix_community_post_feed")
        batch_op.drop_index(batch_op.f("ix_community_post_author_id"))
    op.drop_table("community_post")
