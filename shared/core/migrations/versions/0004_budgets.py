"""per-user token budgets: a user's own daily and monthly budget (null: the settings), and the
tokens each user's jobs spent per UTC day

Revision ID: 0004_budgets
Revises: 0003_issue27_user_models
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_budgets"
down_revision = "0003_issue27_user_models"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("daily_tokens", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("monthly_tokens", sa.BigInteger(), nullable=True))
    op.create_table(
        "usage_days",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("total_tokens", sa.BigInteger(), nullable=False),
        sa.Column("jobs", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "day"),
    )


def downgrade() -> None:
    op.drop_table("usage_days")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("monthly_tokens")
        batch_op.drop_column("daily_tokens")
