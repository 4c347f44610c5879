"""Admin commands: `flask --app api tokens create USER [--service]`, `tokens revoke TOKEN`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

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


def register_commands(app: Flask) -> None:
    app.cli.add_command(tokens)
