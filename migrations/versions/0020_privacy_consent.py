"""privacy: consent records, minors' age and guardian request, keyed pseudonyms; the profiling
opt-outs (analytics_profile_pref) become consent records and their table goes

Revision ID: 0020
Revises: 0017
Create Date: 2026-11-27 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import livecircle.kit.db

revision = "0020"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("policy_version", sa.String(length=16), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("guardian_email", sa.String(length=320), nullable=True),
        sa.Column("guardian_confirmed_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_user.id"],
            name=op.f("fk_privacy_consent_user_id_identity_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_consent")),
    )
    with op.batch_alter_table("privacy_consent", schema=None) as batch_op:
        batch_op.create_index("ix_privacy_consent_user_purpose", ["user_id", "purpose", "id"], unique=False)

    op.create_table(
        "privacy_minor",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=False),
        sa.Column("needs_guardian", sa.Boolean(), nullable=False),
        sa.Column("guardian_email", sa.String(length=320), nullable=True),
        sa.Column("requested_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_user.id"],
            name=op.f("fk_privacy_minor_user_id_identity_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_privacy_minor")),
    )

    op.create_table(
        "privacy_pseudonym",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", livecircle.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_pseudonym")),
        sa.UniqueConstraint("digest", name=op.f("uq_privacy_pseudonym_digest")),
    )

    # Each profiling choice made on /me/tags becomes a consent record (channel "migration"; an
    # empty text hash: no notice of ours was shown, so an old "yes" counts as the default).
    op.execute(
        "INSERT INTO privacy_consent "
        "(user_id, purpose, granted, policy_version, text_hash, locale, channel, created_at) "
        "SELECT user_id, 'profiling', NOT profiling_opt_out, 'legacy', '', '', 'migration', updated_at "
        "FROM analytics_profile_pref"
    )
    op.drop_table("analytics_profile_pref")


def downgrade() -> None:
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
    op.execute(
        "INSERT INTO analytics_profile_pref (user_id, profiling_opt_out, updated_at) "
        "SELECT c.user_id, NOT c.granted, c.created_at FROM privacy_consent c "
        "WHERE c.id IN (SELECT max(id) FROM privacy_consent WHERE purpose = 'profiling' GROUP BY user_id)"
    )
    op.drop_table("privacy_pseudonym")
    op.drop_table("privacy_minor")
    with op.batch_alter_table("privacy_consent", schema=None) as batch_op:
        batch_op.drop_index("ix_privacy_consent_user_purpose")
    op.drop_table("privacy_consent")
