"""count the attempts a job lost to a vanished worker apart from its claims

A claim numbers each attempt (the fencing token of its writes), and a job resumed with tool
outputs is claimed again: counting claims, a job resumed four times failed `worker_lost` at its
first lost worker.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lost_attempts", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("lost_attempts")
