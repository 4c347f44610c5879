"""Admin commands: `flask --app api tokens create USER [--service]`, `tokens revoke TOKEN`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from shared import user_admin
from shared.auth import create_token, revoke_token

tokens = AppGroup("tokens", help="Create and revoke API tokens.")


@tokens.command("create")
@click.argument("user")
@click.option("--service", is_flag=True, help="A service token, which acts for any user_id.")
def create(user: str, service: bool) -> None:
    """Print a new token for USER (the user is made if missing)."""
    token, _user_id = create_token(user, kind="service" if service else "user")
    click.echo(token)


@tokens.command("revoke")
@click.argument("token")
def revoke(token: str) -> None:
    """Revoke TOKEN; it fails from then on."""
    if not revoke_token(token):
        raise click.ClickException("no such active token")
    click.echo("revoked")


users = AppGroup("users", help="List users and set their scheduling limits.")


@users.command("list")
def list_users() -> None:
    """Print every user: id, name, in-flight limit, weight."""
    for user in user_admin.list_users():
        limit = user.max_inflight if user.max_inflight is not None else "default"
        click.echo(f"{user.id}\t{user.name}\tmax_inflight={limit}\tweight={user.weight}")


@users.command("set")
@click.argument("user_id")
@click.option("--max-inflight", type=click.IntRange(min=1), help="Jobs running or sent at once.")
@click.option("--default-max-inflight", is_flag=True, help="Back to USER_MAX_INFLIGHT.")
@click.option("--weight", type=click.IntRange(min=1, max=100), help="Turns per scheduling lap.")
def set_user(
    user_id: str, max_inflight: int | None, default_max_inflight: bool, weight: int | None
) -> None:
    """Set USER_ID's in-flight limit and scheduling weight (the user is made if missing)."""
    user = user_admin.set_limits(
        user_id, max_inflight=max_inflight, reset_max_inflight=default_max_inflight, weight=weight
    )
    limit = user.max_inflight if user.max_inflight is not None else "default"
    click.echo(f"{user.id}\tmax_inflight={limit}\tweight={user.weight}")


def register_commands(app: Flask) -> None:
    app.cli.add_command(tokens)
    app.cli.add_command(users)
