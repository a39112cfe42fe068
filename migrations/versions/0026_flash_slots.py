"""flash-sale stock spread over slots: ``commerce_flash_slot`` holds each sale's units in a
few rows, so buyers deciding at once lock different rows; ``commerce_flash_sale.stock_left``
becomes the sum of its slots (each existing sale's units move to its slot 0)

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-27 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "commerce_flash_slot",
        sa.Column("sale_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("stock_left", sa.Integer(), nullable=False),
        sa.CheckConstraint("stock_left >= 0", name=op.f("ck_commerce_flash_slot_stock_not_negative")),
        sa.ForeignKeyConstraint(
            ["sale_id"],
            ["commerce_flash_sale.id"],
            name=op.f("fk_commerce_flash_slot_sale_id_commerce_flash_sale"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sale_id", "slot", name=op.f("pk_commerce_flash_slot")),
    )
    op.execute(
        "INSERT INTO commerce_flash_slot (sale_id, slot, stock_left)"
        " SELECT id, 0, stock_left FROM commerce_flash_sale"
    )
    with op.batch_alter_table("commerce_flash_sale", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_commerce_flash_sale_stock_in_range"), type_="check")
        batch_op.drop_column("stock_left")


def downgrade() -> None:
    with op.batch_alter_table("commerce_flash_sale", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stock_left", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE commerce_flash_sale SET stock_left = (SELECT COALESCE(SUM(s.stock_left), 0)"
        " FROM commerce_flash_slot s WHERE s.sale_id = commerce_flash_sale.id)"
    )
    with op.batch_alter_table("commerce_flash_sale", schema=None) as batch_op:
        batch_op.alter_column("stock_left", server_default=None)
        batch_op.create_check_constraint(
            op.f("ck_commerce_flash_sale_stock_in_range"), "stock_left >= 0 AND stock_left <= stock_total"
        )
    op.drop_table("commerce_flash_slot")
