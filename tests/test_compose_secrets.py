"""docker-compose.yml with nothing guessable: no default service token or database password, the
README's steps make both, monitoring published on loopback, Prometheus scraping with the token."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from dotenv import dotenv_values
from jsonschema import Draft7Validator

from shared.core.secret_rules import HOW_TO_MAKE_ONE, secret_weakness
from tests.test_compose import (
    _INTERPOLATION,
    COMPOSE_SCHEMA,
    REQUIRED_SECRETS,
    ROOT,
    argv,
    healthcheck_argv,
    option,
    raw_compose,
    resolve,
    services,
)

PROMETHEUS_CONFIG = ROOT / "ops" / "prometheus" / "prometheus.yml"
# Variables whose value guards something; OPENAI_API_KEY's default only reaches the bundled
# offline upstream, which takes any key.
SECRET_NAME = re.compile(r"(TOKEN|PASSWORD|SECRET|BASIC_AUTH)$")


def interpolations(node: Any) -> list[re.Match[str]]:
    if isinstance(node, str):
        return list(_INTERPOLATION.finditer(node))
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    return [match for child in children for match in interpolations(child)]


def readme_compose_steps() -> str:
    """The shell block of the README's compose section that writes the secrets to .env."""
    readme = (ROOT / "README.md").read_text()
    compose = readme[readme.index("\n## Compose\n") :]
    blocks = re.findall(r"```sh\n(.*?)```", compose, re.S)
    [steps] = [block for block in blocks if ".env" in block]
    return steps


def run_readme_steps(workdir: Path) -> dict[str, str]:
    """Run the README's steps up to `docker compose` (no engine here); answer the .env made."""
    commands = [line for line in readme_compose_steps().splitlines() if "docker " not in line]
    subprocess.run(["bash", "-euc", "\n".join(commands)], cwd=workdir, check=True)
    return {key: value or "" for key, value in dotenv_values(workdir / ".env").items()}


def test_compose_has_no_default_for_the_token_or_the_database_password() -> None:
    required: dict[str, set[str]] = {}
    for match in interpolations(raw_compose()):
        name = match["braced"] or match["bare"]
        if name and SECRET_NAME.search(name):
            assert match["op"] in (None, ":?"), f"${{{name}}} has a default"
        if match["op"] == ":?":
            required.setdefault(name, set()).add(match["arg"])
    assert set(required) == {"BOOTSTRAP_TOKEN", "POSTGRES_PASSWORD"} == set(REQUIRED_SECRETS)
    for name, hints in required.items():
        for hint in hints:
            assert HOW_TO_MAKE_ONE in hint, f"{name}: the settings' own hint, how to make one"
    # Each one missing stops Compose before any service is made, naming it.
    for missing in REQUIRED_SECRETS:
        env = {name: value for name, value in REQUIRED_SECRETS.items() if name != missing}
        with pytest.raises(AssertionError, match=rf"\${{{missing}}} is required"):
            resolve(raw_compose()["services"], env)


def test_the_token_and_the_password_reach_every_process_that_needs_them() -> None:
    postgres = services()["postgres"]["environment"]
    assert postgres["POSTGRES_PASSWORD"] == REQUIRED_SECRETS["POSTGRES_PASSWORD"]
    for name in ("migrate", "api", "worker", "beat"):
        env = services()[name]["environment"]
        assert env["BOOTSTRAP_TOKEN"] == REQUIRED_SECRETS["BOOTSTRAP_TOKEN"], name
        database = urlsplit(env["DATABASE_URL"])
        assert database.password == REQUIRED_SECRETS["POSTGRES_PASSWORD"], name
        assert "METRICS_TOKEN" in env, f"{name}: its metrics need the token from .env"


def test_the_readme_steps_make_both_secrets_and_contain_none(tmp_path: Path) -> None:
    steps = readme_compose_steps()
    assert "docker compose up" in steps
    runs = []
    for run in ("one", "two"):
        (tmp_path / run).mkdir()
        runs.append(run_readme_steps(tmp_path / run))
    first, second = runs
    assert set(first) == set(second) == set(REQUIRED_SECRETS)
    for name in REQUIRED_SECRETS:
        assert first[name] != second[name], f"{name} is written in the README, not generated"
        assert first[name] not in steps
        assert secret_weakness(first[name]) is None, name
        # URL-safe: the password goes into DATABASE_URL as it is.
        assert re.fullmatch(r"[A-Za-z0-9_-]+", first[name]), name
    # The compose file with that .env: every required value set, valid against the spec.
    document = resolve(raw_compose(), first)
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    errors = list(Draft7Validator(schema).iter_errors(document))
    assert not errors, [error.message for error in errors]
    assert document["services"]["api"]["environment"]["BOOTSTRAP_TOKEN"] == first["BOOTSTRAP_TOKEN"]
    database = urlsplit(document["services"]["api"]["environment"]["DATABASE_URL"])
    assert database.password == first["POSTGRES_PASSWORD"]
    assert (
        document["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
        == (first["POSTGRES_PASSWORD"])
    )


def test_only_the_api_is_published_beyond_loopback() -> None:
    published = {
        name: [str(port) for port in service.get("ports", [])]
        for name, service in services().items()
    }
    assert published["flower"] == ["127.0.0.1:5555:5555"]
    assert published["prometheus"] == ["127.0.0.1:9090:9090"]
    for name, ports in published.items():
        if name != "api":
            assert all(port.startswith("127.0.0.1:") for port in ports), name
    assert argv(services()["flower"]["command"]) == ["python", "-m", "worker.flower"]


def prometheus_jobs() -> dict[str, dict[str, Any]]:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    return {job["job_name"]: job for job in config["scrape_configs"]}


def test_prometheus_scrapes_every_metrics_port_with_the_metrics_token() -> None:
    prometheus = services()["prometheus"]
    assert prometheus["profiles"] == ["monitoring"]
    assert "METRICS_TOKEN" in prometheus["environment"]
    script = prometheus["entrypoint"][-1]
    # It refuses to start without the token, and writes it where the scrape config reads it.
    assert re.search(r'\[ -z "\$METRICS_TOKEN" \].*exit 1', script)
    [token_file] = re.findall(r'printf %s "\$METRICS_TOKEN" > (\S+)', script)
    config_file = option(script.split(), "--config.file")
    mounts = {
        target: source
        for source, target, *_ in (volume.split(":") for volume in prometheus["volumes"])
    }
    assert mounts[config_file] == "./ops/prometheus/prometheus.yml"
    assert "/-/ready" in " ".join(healthcheck_argv(prometheus))

    jobs = prometheus_jobs()
    assert set(jobs) == {"api", "worker", "beat"}
    for name, job in jobs.items():
        assert job["authorization"] == {"credentials_file": token_file}, name
    api_bind = option(argv(services()["api"]["command"]), "--bind")
    assert api_bind is not None
    assert jobs["api"]["static_configs"] == [{"targets": [f"api:{api_bind.rsplit(':', 1)[1]}"]}]
    # Every worker replica, found by the service's DNS name, on the port it exposes.
    [worker_sd] = jobs["worker"]["dns_sd_configs"]
    assert worker_sd["names"] == ["worker"]
    assert [str(worker_sd["port"])] == services()["worker"]["expose"]
    assert jobs["beat"]["static_configs"] == [
        {"targets": [f"beat:{port}" for port in services()["beat"]["expose"]]}
    ]
