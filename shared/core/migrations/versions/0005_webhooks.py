"""signed completion webhooks: a job's webhook, each token's signing secret, the deliveries
and their attempts

Every token made before this gets a secret of its own, which nobody has seen: an operator
shows one by rotating it (`flask --app api tokens rotate-webhook-secret TOKEN`).

Revision ID: 0005_webhooks
Revises: 0004_budgets
"""

from __future__ import annotations

import base64
import secrets

import sqlalchemy as sa
from alembic import op

import shared.core.models

revision = "0005_webhooks"
down_revision = "0004_budgets"
branch_labels = None
depends_on = None

TOKEN_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webhook_url", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("webhook_secret", sa.String(length=128), nullable=True))
        batch_op.add_column(
            sa.Column("previous_webhook_secret", sa.String(length=128), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "previous_webhook_secret_until", shared.core.models.UTCDateTime(), nullable=True
            )
        )
    tokens = sa.table("api_tokens", sa.column("id", TOKEN_ID), sa.column("webhook_secret"))
    connection = op.get_bind()
    for (token_id,) in connection.execute(sa.select(tokens.c.id)).all():
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        connection.execute(
            tokens.update().where(tokens.c.id == token_id).values(webhook_secret=secret)
        )

    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webhook_url", sa.Text(), nullable=True))
        # No foreign key: on SQLite adding one copies the table, and dropping the old jobs
        # table would null every response's job_id. Tokens are revoked, never deleted.
        batch_op.add_column(sa.Column("webhook_token_id", TOKEN_ID, nullable=True))

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("token_id", TOKEN_ID, nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", shared.core.models.UTCDateTime(), nullable=True),
        sa.Column("task_sent_at", shared.core.models.UTCDateTime(), nullable=True),
        sa.Column("lease_expires_at", shared.core.models.UTCDateTime(), nullable=True),
        sa.Column("created_at", shared.core.models.UTCDateTime(), nullable=False),
        sa.Column("finished_at", shared.core.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["token_id"], ["api_tokens.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_deliveries_job", ["job_id", "id"], unique=False)
        batch_op.create_index(
            "ix_webhook_deliveries_due", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "webhook_attempts",
        sa.Column("id", TOKEN_ID, nullable=False),
        sa.Column("delivery_id", sa.String(length=40), nullable=False),
        sa.Column("attempted_at", shared.core.models.UTCDateTime(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", shared.core.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["webhook_deliveries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_attempts_delivery_id"), ["delivery_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_attempts_delivery_id"))
    op.drop_table("webhook_attempts")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_due")
        batch_op.drop_index("ix_webhook_deliveries_job")
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("webhook_token_id")
        batch_op.drop_column("webhook_url")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("previous_webhook_secret_until")
        batch_op.drop_column("webhook_secret")
        batch_op.drop_column("previous_webhook_secret")
        batch_op.drop_column("webhook_url")
