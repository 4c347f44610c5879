"""Admin commands (`flask --app api --help`): tokens and their webhook secrets, users, the sweeps
on demand, the backlog, stuck jobs, re-sending one job, exporting one conversation."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup
from redis.exceptions import RedisError

from shared.accounts import users as user_accounts
from shared.accounts.tokens import USER_ID_PATTERN, create_token, revoke_token
from shared.accounts.usage_report import usage_report
from shared.conversations.expiry import expire_idle_conversations
from shared.core.errors import DomainError
from shared.core.models import User
from shared.core.settings import get_settings
from shared.jobs import operations
from shared.jobs.sweeps import purge_old_data, reconcile_jobs
from shared.webhooks.secrets import rotate_secret
from shared.webhooks.signing import new_secret
from shared.webhooks.targets import check_webhook_url

tokens = AppGroup("tokens", help="Create and revoke API tokens; rotate their webhook secrets.")


@tokens.command("create")
@click.argument("user")
@click.option("--service", is_flag=True, help="A service token, which acts for any user_id.")
@click.option("--webhook-url", help="The webhook of the jobs it submits that name none.")
def create(user: str, service: bool, webhook_url: str | None) -> None:
    """Print a new token for USER (the user is made if missing); its webhook signing secret
    goes to stderr, shown this once."""
    if webhook_url is not None:
        with _refusals():
            check_webhook_url(webhook_url, get_settings())
    secret = new_secret()
    token, _user_id = create_token(
        user, kind="service" if service else "user", webhook_url=webhook_url, webhook_secret=secret
    )
    click.echo(token)
    click.echo(f"webhook signing secret (shown once): {secret}", err=True)


# A year: an old secret signing longer than that is a leak, not an overlap.
MAX_OVERLAP_HOURS = 24 * 366


def _finite(value: float, hint: str) -> float:
    if not math.isfinite(value):  # nan passes any range: it compares false with both ends
        raise click.BadParameter("must be a number", param_hint=hint)
    return value


@tokens.command("rotate-webhook-secret")
@click.argument("token")
@click.option(
    "--overlap-hours",
    type=click.FloatRange(min=0, max=MAX_OVERLAP_HOURS),
    default=24.0,
    show_default=True,
    callback=lambda _ctx, _param, hours: _finite(hours, "--overlap-hours"),
    help="How long the old secret signs beside the new one.",
)
def rotate_webhook_secret(token: str, overlap_hours: float) -> None:
    """Print a new webhook signing secret for TOKEN; its deliveries carry a signature by each
    secret until the overlap is over."""
    with _refusals():
        click.echo(rotate_secret(token, timedelta(hours=overlap_hours)))


@tokens.command("revoke")
@click.argument("token")
def revoke(token: str) -> None:
    """Revoke TOKEN; it fails from then on."""
    if not revoke_token(token):
        raise click.ClickException("no such active token")
    click.echo("revoked")


users = AppGroup(
    "users", help="List users, set their scheduling limits, models and token budgets, show usage."
)


@users.command("list")
def list_users() -> None:
    """Print every user: id, name, in-flight limit, weight, models, token budgets."""
    for user in user_accounts.list_users():
        click.echo(f"{user.id}\t{user.name}\t{_limits(user)}")


@users.command("set")
@click.argument("user_id")
@click.option("--max-inflight", type=click.IntRange(min=1), help="Jobs running or sent at once.")
@click.option("--default-max-inflight", is_flag=True, help="Back to USER_MAX_INFLIGHT.")
@click.option("--weight", type=click.IntRange(min=1, max=100), help="Turns per scheduling lap.")
@click.option(
    "--models", help="Comma-separated models the user may name, instead of ALLOWED_MODELS."
)
@click.option("--default-models", is_flag=True, help="Back to ALLOWED_MODELS.")
@click.option("--daily-tokens", type=click.IntRange(min=0), help="Tokens per UTC day.")
@click.option("--default-daily-tokens", is_flag=True, help="Back to USER_DAILY_TOKENS.")
@click.option("--monthly-tokens", type=click.IntRange(min=0), help="Tokens per calendar month.")
@click.option("--default-monthly-tokens", is_flag=True, help="Back to USER_MONTHLY_TOKENS.")
def set_user(
    user_id: str,
    max_inflight: int | None,
    default_max_inflight: bool,
    weight: int | None,
    models: str | None,
    default_models: bool,
    daily_tokens: int | None,
    default_daily_tokens: bool,
    monthly_tokens: int | None,
    default_monthly_tokens: bool,
) -> None:
    """Set USER_ID's in-flight limit, scheduling weight, models and token budgets (the user is
    made if missing)."""
    names = None if models is None else [name.strip() for name in models.split(",") if name.strip()]
    if names == []:
        raise click.BadParameter("name at least one model", param_hint="--models")
    changes: dict[str, Any] = {}
    for name, value, back_to_default in (
        ("max_inflight", max_inflight, default_max_inflight),
        ("weight", weight, False),
        ("allowed_models", names, default_models),
        ("daily_tokens", daily_tokens, default_daily_tokens),
        ("monthly_tokens", monthly_tokens, default_monthly_tokens),
    ):
        if back_to_default and value is not None:
            flag = name.replace("_", "-").replace("allowed-", "")
            raise click.UsageError(f"--{flag} and --default-{flag} ask for both")
        if back_to_default:
            changes[name] = None
        elif value is not None:
            changes[name] = value
    user = user_accounts.set_limits(user_id, changes)
    click.echo(f"{user.id}\t{_limits(user)}")


def _limits(user: User) -> str:
    limit = user.max_inflight if user.max_inflight is not None else "default"
    models = ",".join(user.allowed_models) if user.allowed_models is not None else "default"
    daily = user.daily_tokens if user.daily_tokens is not None else "default"
    monthly = user.monthly_tokens if user.monthly_tokens is not None else "default"
    return (
        f"max_inflight={limit}\tweight={user.weight}\tmodels={models}"
        f"\tdaily_tokens={daily}\tmonthly_tokens={monthly}"
    )


@users.command("usage")
@click.argument("user_id")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), help="First UTC day.")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="Last UTC day (today).")
@click.option("--json", "as_json", is_flag=True, help="The body GET /v1/usage answers.")
def show_usage(user_id: str, first: datetime | None, last: datetime | None, as_json: bool) -> None:
    """USER_ID's tokens and finished jobs per UTC day (from the first of the month unless
    --from), and what is left of today's and this month's budget."""
    if not USER_ID_PATTERN.match(user_id):
        raise click.BadParameter("not a user id", param_hint="USER_ID")
    with _refusals():
        report = usage_report(
            user_id, first.date() if first else None, last.date() if last else None
        )
    if as_json:
        _echo_json(report)
        return
    for line in _usage_lines(report):
        click.echo(line)


def _usage_lines(report: dict[str, Any]) -> Iterator[str]:
    yield "day\tinput_tokens\toutput_tokens\ttotal_tokens\tjobs"
    for row in [*report["days"], {**report["total"], "date": "total"}]:
        yield "\t".join(
            str(row[key])
            for key in ("date", "input_tokens", "output_tokens", "total_tokens", "jobs")
        )
    for name in ("today", "this_month"):
        window = report[name]
        budget, left = window["budget_tokens"], window["remaining_tokens"]
        resets = datetime.fromtimestamp(window["resets_at"], UTC).strftime("%Y-%m-%d %H:%M UTC")
        yield (
            f"{name}\tused={window['used_tokens']}"
            f"\tbudget={'unlimited' if budget is None else budget}"
            f"\tremaining={'unlimited' if left is None else left}\tresets={resets}"
        )


@contextmanager
def _refusals() -> Iterator[None]:
    """A service's refusal (unknown id, wrong state, database or Redis away) as one line,
    exit code 1."""
    try:
        yield
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    except RedisError as exc:
        raise click.ClickException(f"redis_unavailable: {exc}") from None


def _echo_json(value: object) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=False))


maintenance = AppGroup("maintenance", help="Run one of beat's sweeps now, in this process.")


@maintenance.command("expire")
def run_expiry() -> None:
    """Expire conversations idle past CONVERSATION_TTL_MINUTES."""
    with _refusals():
        click.echo(f"expired {expire_idle_conversations()} conversations")


@maintenance.command("reconcile")
def run_reconciler() -> None:
    """Re-dispatch jobs whose worker or message was lost; fail those out of time or attempts."""
    with _refusals():
        report = reconcile_jobs()
    click.echo(f"requeued {report.requeued}, resent {report.resent}, failed {report.failed}")


@maintenance.command("purge")
def run_purge() -> None:
    """Delete finished jobs and closed or expired conversations older than RETENTION_DAYS."""
    with _refusals():
        purged = purge_old_data()
    click.echo(f"purged {purged['jobs']} jobs, {purged['conversations']} conversations")


@click.command("queues")
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
def show_queues(as_json: bool) -> None:
    """The backlog: messages on each broker queue, queued jobs by where they wait, unfinished
    jobs by status."""
    with _refusals():
        backlog = {
            "broker": operations.queue_depths(),
            "queued_jobs": operations.queued_jobs_by_state(),
            "active_jobs": operations.active_jobs(),
        }
    if as_json:
        _echo_json(backlog)
        return
    for section, counts in backlog.items():
        for name, count in counts.items():
            click.echo(f"{section}\t{name}\t{count}")


jobs = AppGroup("jobs", help="Find stuck jobs and send one again.")


@jobs.command("stuck")
@click.option(
    "--older-than",
    type=click.FloatRange(min=0),
    help="Seconds sent without starting, or running (default RESEND_AFTER_SECONDS).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
def list_stuck(older_than: float | None, as_json: bool) -> None:
    """Jobs sent but not started, or running, for longer than --older-than seconds."""
    with _refusals():
        rows = [job.row() for job in operations.stuck_jobs(older_than)]
    if as_json:
        _echo_json(rows)
        return
    for row in rows:
        click.echo(
            f"{row['id']}\t{row['user_id']}\t{row['status']}\t{row['queue_state'] or '-'}"
            f"\tattempts={row['attempts']}\tage={row['age_seconds']}s"
        )


@jobs.command("resend")
@click.argument("job_id")
def resend(job_id: str) -> None:
    """Send JOB_ID's message to the broker again (a queued job only)."""
    with _refusals():
        operations.resend_job(job_id)
    click.echo(f"sent {job_id}")


conversations = AppGroup("conversations", help="Export a conversation.")


@conversations.command("export")
@click.argument("conversation_id")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")
def export(conversation_id: str, output: Path | None) -> None:
    """CONVERSATION_ID as JSON: its fields, its jobs in order and the responses they made."""
    with _refusals():
        document = operations.export_conversation(conversation_id)
    if output is None:
        _echo_json(document)
    else:
        output.write_text(json.dumps(document, indent=2) + "\n")
        click.echo(f"wrote {output}")


def register_commands(app: Flask) -> None:
    for command in (tokens, users, maintenance, show_queues, jobs, conversations):
        app.cli.add_command(command)
