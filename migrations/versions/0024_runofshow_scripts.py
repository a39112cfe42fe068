"""run-of-show scripts: timed and conditional steps per show (condition, judge's last look,
who or what fired it, its result), and script templates

Revision ID: 0024
Revises: 0021
Create Date: 2026-11-28 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import livecircle.kit.db

revision = "0024"
down_revision = "0021"
branch_labels = None
depends_on = None

STEP_COLUMNS = (
    ("kind", sa.String(length=12), "timed"),
    ("label", sa.String(length=80), ""),
    ("params", sa.JSON(), None),
    ("metric", sa.String(length=40), None),
    ("comparator", sa.String(length=2), None),
    ("threshold", sa.Float(), None),
    ("window_s", sa.Integer(), "60"),
    ("hold_s", sa.Integer(), "0"),
    ("seen_value", sa.Float(), None),
    ("seen_at", livecircle.kit.db.UtcDateTime(timezone=True), None),
    ("holding_since", livecircle.kit.db.UtcDateTime(timezone=True), None),
    ("fired_by", sa.String(length=12), None),
    ("fired_by_user", sa.Integer(), None),
    ("result", sa.JSON(), None),
)


def upgrade() -> None:
    with op.batch_alter_table("interaction_show_step", schema=None) as batch_op:
        for name, type_, default in STEP_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=default is None, server_default=default))
        batch_op.create_foreign_key(
            batch_op.f("fk_interaction_show_step_fired_by_user_identity_user"),
            "identity_user",
            ["fired_by_user"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_interaction_show_step_show_status", ["show_id", "status"], unique=False)

    op.create_table(
        "interaction_script_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["identity_user.id"],
            name=op.f("fk_interaction_script_template_created_by_identity_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["identity_tenant.id"],
            name=op.f("fk_interaction_script_template_tenant_id_identity_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction_script_template")),
        sa.UniqueConstraint("tenant_id", "name", name="uq_interaction_script_template_name"),
    )
    with op.batch_alter_table("interaction_script_template", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interaction_script_template_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("interaction_script_template", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interaction_script_template_tenant_id"))
    op.drop_table("interaction_script_template")
    with op.batch_alter_table("interaction_show_step", schema=None) as batch_op:
        batch_op.drop_index("ix_interaction_show_step_show_status")
        batch_op.drop_constraint(
            batch_op.f("fk_interaction_show_step_fired_by_user_identity_user"), type_="foreignkey"
        )
        for name, _type, _default in reversed(STEP_COLUMNS):
            batch_op.drop_column(name)
