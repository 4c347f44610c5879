"""The flask CLI's admin commands, run through Flask's CLI runner against the test database."""

from __future__ import annotations

from flask import Flask

from shared.accounts.tokens import authenticate
from shared.core.db import read_session
from shared.core.models import User


def test_tokens_create_and_revoke(app: Flask) -> None:
    runner = app.test_cli_runner()
    made = runner.invoke(args=["tokens", "create", "carol", "--service"])
    assert made.exit_code == 0
    token = made.stdout.strip()  # the webhook signing secret goes to stderr
    assert made.stderr.startswith("webhook signing secret (shown once): whsec_")
    assert authenticate(token).is_service
    revoked = runner.invoke(args=["tokens", "revoke", token])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    again = runner.invoke(args=["tokens", "revoke", token])
    assert again.exit_code != 0


def test_users_set_limits_and_list(app: Flask) -> None:
    runner = app.test_cli_runner()
    done = runner.invoke(args=["users", "set", "team-a", "--max-inflight", "3", "--weight", "2"])
    assert done.exit_code == 0, done.output
    with read_session() as session:
        user = session.get_one(User, "team-a")
    assert (user.max_inflight, user.weight) == (3, 2)
    listed = runner.invoke(args=["users", "list"])
    assert "team-a\tteam-a\tmax_inflight=3\tweight=2" in listed.output
    reset = runner.invoke(args=["users", "set", "team-a", "--default-max-inflight"])
    assert "max_inflight=default" in reset.output
    refused = runner.invoke(args=["users", "set", "team-a", "--weight", "0"])
    assert refused.exit_code != 0


def test_users_set_refuses_a_limit_and_its_default_at_once(app: Flask) -> None:
    runner = app.test_cli_runner()
    for flag, value in (("daily-tokens", "10"), ("models", "o3"), ("max-inflight", "2")):
        refused = runner.invoke(
            args=["users", "set", "team-b", f"--{flag}", value, f"--default-{flag}"]
        )
        assert refused.exit_code == 2, refused.output
        assert f"--{flag} and --default-{flag} ask for both" in refused.output


def test_rotate_webhook_secret_refuses_an_overlap_that_is_not_a_number_of_hours(app: Flask) -> None:
    runner = app.test_cli_runner()
    token = runner.invoke(args=["tokens", "create", "dave"]).stdout.strip()
    for hours in ("nan", "inf", "-1", "1e9"):
        refused = runner.invoke(
            args=["tokens", "rotate-webhook-secret", token, "--overlap-hours", hours]
        )
        assert refused.exit_code == 2, (hours, refused.output)
        assert "--overlap-hours" in refused.output and "Traceback" not in refused.output
    rotated = runner.invoke(
        args=["tokens", "rotate-webhook-secret", token, "--overlap-hours", "1.5"]
    )
    assert rotated.exit_code == 0 and rotated.stdout.startswith("whsec_")
