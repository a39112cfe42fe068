"""interaction Q&A: questions of a show and their upvotes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 11:11:00.539543
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import livecircle.kit.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "interaction_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("show_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("answered_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("created_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["answered_by"],
            ["identity_user.id"],
            name=op.f("fk_interaction_question_answered_by_identity_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["live_room.id"],
            name=op.f("fk_interaction_question_room_id_live_room"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["show_id"],
            ["live_show.id"],
            name=op.f("fk_interaction_question_show_id_live_show"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["identity_tenant.id"],
            name=op.f("fk_interaction_question_tenant_id_identity_tenant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_user.id"],
            name=op.f("fk_interaction_question_user_id_identity_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction_question")),
    )
    with op.batch_alter_table("interaction_question", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_interaction_question_room_id"), ["room_id"], unique=False)
        batch_op.create_index("ix_interaction_question_show_user", ["show_id", "user_id"], unique=False)
        # At most one pinned question per show (a partial unique index on both backends).
        batch_op.create_index(
            "uq_interaction_question_show_pinned",
            ["show_id"],
            unique=True,
            sqlite_where=sa.text("pinned"),
            postgresql_where=sa.text("pinned"),
        )

    op.create_table(
        "interaction_question_vote",
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["interaction_question.id"],
            name=op.f("fk_interaction_question_vote_question_id_interaction_question"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_user.id"],
            name=op.f("fk_interaction_question_vote_user_id_identity_user"),
            ondelete="CASCADE",
        ),
        # The primary key is the one-upvote-per-account rule: UNIQUE (question_id, user_id).
        sa.PrimaryKeyConstraint("question_id", "user_id", name=op.f("pk_interaction_question_vote")),
    )
    with op.batch_alter_table("interaction_question_vote", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_interaction_question_vote_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("interaction_question_vote", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interaction_question_vote_user_id"))
    op.drop_table("interaction_question_vote")
    with op.batch_alter_table("interaction_question", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_interaction_question_show_pinned",
            sqlite_where=sa.text("pinned"),
            postgresql_where=sa.text("pinned"),
        )
        batch_op.drop_index("ix_interaction_question_show_user")
        batch_op.drop_index(batch_op.f("ix_interaction_question_room_id"))
    op.drop_table("interaction_question")
