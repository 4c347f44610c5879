"""docker-compose.yml, Dockerfile, .dockerignore: valid, consistent with the repository, scalable.

There is no Docker engine where these run, so the files are checked by construction: against
the Compose Specification schema, and against the code and settings they name.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import tomllib
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE_SCHEMA = ROOT / ".." / "shared" / "reference" / "compose-spec.json"

EXPECTED_SERVICES = {
    "redis",
    "postgres",
    "migrate",
    "api",
    "worker",
    "beat",
    "offline-openai",
    "flower",
    "prometheus",
}
# Settings that must reach every app process.
PASSED_SETTINGS = {
    "DATABASE_URL", "REDIS_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY", "BOOTSTRAP_TOKEN",
    "CONVERSATION_TTL_MINUTES", "EXPIRY_SWEEP_SECONDS", "JOB_TIMEOUT_SECONDS", "MAX_TOOL_ROUNDS",
    "MAX_UPLOAD_BYTES", "RATE_LIMIT", "MCP_ALLOWED_URLS", "WEATHER_API_URL", "RETENTION_DAYS",
    "EVENT_RETENTION_SECONDS", "LOG_LEVEL", "UPSTREAM_HISTORY", "UPSTREAM_HISTORY_MAX_ITEMS",
}  # fmt: skip

# $$ | ${NAME} | ${NAME<op><arg>} | $NAME | anything else after a $ (which Compose rejects).
_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_]\w*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_]\w*)|(?P<invalid>))"
)


# --- loading --------------------------------------------------------------------------------


@cache
def raw_compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(document, dict)
    return document


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's variable substitution, for the operators it supports."""

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        assert match["invalid"] is None, f"invalid interpolation in {text!r}"
        name = match["braced"] or match["bare"]
        value, op, arg = env.get(name), match["op"], match["arg"] or ""
        if op in (":-", "-"):
            unset = value is None or (op == ":-" and value == "")
            return arg if unset else str(value)
        if op in (":+", "+"):
            is_set = value is not None and (op == "+" or value != "")
            return arg if is_set else ""
        assert op is None or value, f"${{{name}}} is required: {arg}"
        return value or ""

    return _INTERPOLATION.sub(substitute, text)


def resolve(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, dict):
        return {key: resolve(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(item, env) for item in node]
    return node


# What Compose requires to be set (${NAME:?…}); tests/test_compose_secrets.py checks this list.
REQUIRED_SECRETS = {
    "BOOTSTRAP_TOKEN": "tok-0123456789abcdefghijklmnopqrstuvwxyz",
    "POSTGRES_PASSWORD": "pw-0123456789abcdefghijklmnopqrstuvwxyz",
}


@cache
def services() -> dict[str, dict[str, Any]]:
    """The services as Compose runs them with only the required secrets set."""
    resolved = resolve(raw_compose()["services"], REQUIRED_SECRETS)
    assert isinstance(resolved, dict)
    return resolved


def argv(command: str | list[str] | None) -> list[str]:
    if command is None:
        return []
    return shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]


def healthcheck_argv(service: Mapping[str, Any]) -> list[str]:
    test = service.get("healthcheck", {}).get("test")
    if isinstance(test, str):
        return shlex.split(test)
    if not test or test[0] == "NONE":
        return []
    return shlex.split(test[1]) if test[0] == "CMD-SHELL" else [str(arg) for arg in test[1:]]


def option(args: list[str], *names: str) -> str | None:
    for index, arg in enumerate(args):
        if arg in names and index + 1 < len(args):
            return args[index + 1]
        for name in names:
            if name.startswith("--") and arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def celery_subcommand(args: list[str]) -> str | None:
    """`celery -A worker worker …` → "worker": the first positional after the global options."""
    if not args or Path(args[0]).name != "celery":
        return None
    rest = iter(args[1:])
    for arg in rest:
        if arg in ("-A", "--app", "-b", "--broker", "--result-backend", "--config", "--workdir"):
            next(rest, None)
        elif not arg.startswith("-"):
            return arg
    return None


def services_running(subcommand: str) -> list[str]:
    return [
        name
        for name, service in services().items()
        if celery_subcommand(argv(service.get("command"))) == subcommand
    ]


def module_references(args: list[str]) -> Iterator[tuple[str, str | None, bool]]:
    """(module, attribute, run_as_main) for each Python module a command line loads."""
    program = Path(args[0]).name if args else ""
    if program in ("celery", "flask") and (app := option(args, "-A", "--app")):
        module, _, attr = app.partition(":")
        yield module, attr or None, False
    elif re.fullmatch(r"python(3(\.\d+)?)?", program) and (main := option(args, "-m")):
        yield main, None, True
    elif program == "gunicorn":
        if (config := option(args, "-c", "--config")) and config.startswith("python:"):
            yield config.removeprefix("python:"), None, False
        for arg in args[1:]:
            if match := re.fullmatch(r"([A-Za-z_][\w.]*):([A-Za-z_]\w*)(\(.*\))?", arg):
                yield match[1], match[2], False


def top_level_names(source: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(source.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def module_problems(module: str, attr: str | None, run_as_main: bool) -> list[str]:
    base = ROOT.joinpath(*module.split("."))
    source = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    if not source.is_file():
        return [f"module {module!r}: neither {base}/__init__.py nor {base}.py exists"]
    if run_as_main and base.is_dir() and not (base / "__main__.py").is_file():
        return [f"`python -m {module}` needs {base}/__main__.py"]
    if attr and attr not in top_level_names(source):
        return [f"{attr!r} is not defined in {source.relative_to(ROOT)}"]
    return []


def settings_fields() -> set[str]:
    tree = ast.parse((ROOT / "shared" / "core" / "settings.py").read_text())
    settings = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings")
    return {
        node.target.id
        for node in settings.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def app_services() -> dict[str, dict[str, Any]]:
    """The services that run our image."""
    return {name: svc for name, svc in services().items() if "build" in svc}


def seconds(duration: str) -> float:
    units = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = re.findall(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"bad duration {duration!r}"
    return sum(float(number) * units[unit] for number, unit in parts)


# --- docker-compose.yml ---------------------------------------------------------------------


def test_compose_file_matches_the_compose_specification() -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    Draft7Validator.check_schema(schema)
    errors = sorted(Draft7Validator(schema).iter_errors(raw_compose()), key=lambda e: e.path)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_stack_has_the_designed_services() -> None:
    assert set(services()) == EXPECTED_SERVICES


def test_commands_and_healthchecks_load_modules_that_exist() -> None:
    references = {
        (name, reference)
        for name, service in services().items()
        for args in (argv(service.get("command")), healthcheck_argv(service))
        for reference in module_references(args)
    }
    assert {module for _, (module, _, _) in references} >= {"api", "worker", "offline_openai"}
    problems = [
        f"{name}: {problem}"
        for name, reference in sorted(references, key=str)
        for problem in module_problems(*reference)
    ]
    assert not problems, "\n".join(problems)


def test_app_programs_are_installed_by_the_project() -> None:
    dependencies = {
        re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower()
        for requirement in pyproject()["project"]["dependencies"]
    }
    for name, service in app_services().items():
        program = argv(service.get("command"))[0]
        assert program == "python" or program in dependencies, f"{name}: {program} not a dependency"


def test_migrate_runs_alembic_against_migrations_that_exist() -> None:
    assert argv(services()["migrate"]["command"]) == ["alembic", "upgrade", "head"]
    alembic = pyproject().get("tool", {}).get("alembic")
    assert alembic, "alembic reads its configuration from pyproject.toml [tool.alembic]"
    location = alembic["script_location"].replace("%(here)s", str(ROOT))
    assert (ROOT / location / "env.py").is_file()


def test_workers_scale_without_colliding() -> None:
    workers = services_running("worker")
    assert workers == ["worker"]
    for name in workers:
        service = services()[name]
        assert "container_name" not in service, "a fixed container name allows one replica"
        assert "hostname" not in service, "replicas would share one Celery node name"
        assert "ports" not in service, "a host port can be published by one replica only"
        assert not {"-B", "--beat"} & set(argv(service["command"])), "beat belongs in beat"


def test_workers_consume_every_queue_tasks_are_routed_to() -> None:
    tree = ast.parse((ROOT / "shared" / "core" / "task_names.py").read_text())
    routed = {
        node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and any(isinstance(t, ast.Name) and t.id.endswith("_QUEUE") for t in node.targets)
    }
    assert routed, "shared/core/task_names.py names the queues"
    for name in services_running("worker"):
        queues = option(argv(services()[name]["command"]), "-Q", "--queues")
        assert queues is not None, f"{name}: without --queues it consumes only the default queue"
        assert set(queues.split(",")) == routed, name


def test_exactly_one_beat() -> None:
    assert services_running("beat") == ["beat"]
    beat = services()["beat"]
    assert beat.get("scale", 1) == 1
    assert beat.get("deploy", {}).get("replicas", 1) == 1


def test_every_long_running_service_has_a_healthcheck() -> None:
    for name, service in services().items():
        if service.get("restart", "no") == "no":
            continue
        healthcheck = service.get("healthcheck", {})
        assert not healthcheck.get("disable"), name
        assert healthcheck_argv(service), f"{name} has no healthcheck"


def test_flower_is_opt_in_and_never_open() -> None:
    flower = services()["flower"]
    assert flower["profiles"] == ["monitoring"]  # `docker compose up` alone leaves it out
    assert argv(flower["command"]) == ["python", "-m", "worker.flower"]  # refuses without auth
    assert "FLOWER_BASIC_AUTH" in flower["environment"]
    assert "/healthcheck" in " ".join(healthcheck_argv(flower))  # the one path without auth
    # worker.flower passes FLOWER_PORT on to Flower: checked and published there too.
    port = str(flower["environment"]["FLOWER_PORT"])
    checked = re.findall(r"http://127\.0\.0\.1:(\d+)/", " ".join(healthcheck_argv(flower)))
    assert checked == [port]
    assert [str(published).rsplit(":", 1)[1] for published in flower["ports"]] == [port]


def test_worker_healthcheck_pings_its_own_node() -> None:
    worker = services()["worker"]
    node = option(argv(worker["command"]), "-n", "--hostname")
    assert node is not None and node.endswith("@%h"), "each replica needs its own node name"
    check = healthcheck_argv(worker)
    assert check[:5] == ["celery", "-A", "worker", "inspect", "ping"]
    # The shell expands $HOSTNAME inside the container (written $$HOSTNAME in the file).
    assert option(check, "-d", "--destination") == node.replace("%h", "$HOSTNAME")


def test_dependencies_exist_and_wait_for_the_right_state() -> None:
    defined = services()
    for name, service in defined.items():
        depends_on = service.get("depends_on", {})
        if isinstance(depends_on, list):
            depends_on = {dep: {"condition": "service_started"} for dep in depends_on}
        for dependency, spec in depends_on.items():
            assert dependency in defined, f"{name} depends on undefined {dependency}"
            if spec["condition"] == "service_healthy":
                assert healthcheck_argv(defined[dependency]), f"{dependency} has no healthcheck"
            if spec["condition"] == "service_completed_successfully":
                assert defined[dependency].get("restart", "no") == "no", dependency
    for name in ("api", "worker", "beat"):
        depends_on = defined[name]["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name
        assert depends_on["redis"]["condition"] == "service_healthy", name
    assert defined["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_app_environment_points_at_the_stack() -> None:
    raw_env = raw_compose()["x-app-env"]
    unknown = set(raw_env) - settings_fields()
    assert not unknown, f"not settings in shared/core/settings.py: {unknown}"
    assert set(raw_env) >= PASSED_SETTINGS
    postgres = services()["postgres"]["environment"]
    for name, service in app_services().items():
        if name == "offline-openai":
            continue
        env = service["environment"]
        database = urlsplit(env["DATABASE_URL"])
        assert database.scheme == "postgresql+psycopg"
        assert (database.hostname, database.port) == ("postgres", 5432)
        assert database.username == postgres["POSTGRES_USER"]
        assert database.password == postgres["POSTGRES_PASSWORD"]
        assert database.path == "/" + postgres["POSTGRES_DB"]
        redis = urlsplit(env["REDIS_URL"])
        assert (redis.scheme, redis.hostname, redis.port or 6379) == ("redis", "redis", 6379)
        upstream = urlsplit(env["OPENAI_BASE_URL"])
        offline_port = option(argv(services()["offline-openai"]["command"]), "--port")
        assert (upstream.hostname, str(upstream.port)) == ("offline-openai", offline_port)
        assert upstream.path == "/v1"
        assert env["OPENAI_API_KEY"] and env["BOOTSTRAP_TOKEN"]


def test_http_services_bind_check_and_publish_the_same_port() -> None:
    expected_published = {"api": "8000", "offline-openai": "8089"}
    for name, published in expected_published.items():
        service = services()[name]
        args = argv(service["command"])
        bind = option(args, "--bind", "-b")
        port = bind.rsplit(":", 1)[1] if bind else option(args, "--port")
        checked = re.findall(r"http://127\.0\.0\.1:(\d+)/", " ".join(healthcheck_argv(service)))
        assert checked == [port], f"{name}: healthcheck ports {checked}, binds {port}"
        targets = [str(p).rsplit(":", 1) for p in service["ports"]]
        assert [(host_side.rsplit(":", 1)[-1], target) for host_side, target in targets] == [
            (published, port)
        ]


def test_interpolations_are_well_formed_and_documented() -> None:
    def strings(node: Any) -> Iterator[str]:
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            for value in node.values():
                yield from strings(value)
        elif isinstance(node, list):
            for item in node:
                yield from strings(item)

    example = ROOT / ".env.example"
    documented: set[str] = set()
    if example.is_file():
        documented.update(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", example.read_text(), re.M))
    undocumented = set()
    for text in strings(raw_compose()):
        for match in _INTERPOLATION.finditer(text):
            assert match["invalid"] is None, f"invalid $ in {text!r} (write $$ for a literal $)"
            name = match["braced"] or match["bare"]
            if name and match["op"] not in (":-", "-") and name not in documented:
                undocumented.add(name)
    assert not undocumented, f"no default and not in .env.example: {sorted(undocumented)}"


def test_broker_and_database_keep_their_data() -> None:
    declared = set(raw_compose().get("volumes") or {})
    used = set()
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume["source"]
            if not source.startswith((".", "/", "~")):
                used.add((name, source))
    assert {source for _, source in used} <= declared
    assert {name for name, _ in used} >= {"redis", "postgres"}
    redis = " ".join(argv(services()["redis"]["command"]))
    assert "--appendonly yes" in redis
    assert "--maxmemory-policy noeviction" in redis, "an evicting broker loses queued tasks"


def test_worker_has_time_to_shut_down_gracefully() -> None:
    assert seconds(services()["worker"]["stop_grace_period"]) >= 30


def test_every_service_restarts_except_the_one_shot_migration() -> None:
    for name, service in services().items():
        expected = "no" if name == "migrate" else "unless-stopped"
        assert service.get("restart", "no") == expected, name


# --- Dockerfile and .dockerignore -----------------------------------------------------------


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The instructions of each build stage, as (INSTRUCTION, arguments)."""
    text = re.sub(r"\\\n(\s*#.*\n)*", " ", DOCKERFILE.read_text())
    stages: list[list[tuple[str, str]]] = [[]]
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        instruction, _, arguments = line.strip().partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), arguments.strip()))
    return stages


def dockerignore_excludes(path: str) -> bool:
    excluded = False
    for line in DOCKERIGNORE.read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        glob = pattern.lstrip("!").strip("/")
        regex = re.escape(glob).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*")
        regex = regex.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        parts = path.split("/")
        if any(re.fullmatch(regex, "/".join(parts[:i])) for i in range(1, len(parts) + 1)):
            excluded = not negated
    return excluded


def test_dockerfile_copies_files_that_exist_and_are_in_the_context() -> None:
    copied = set()
    for stage in dockerfile_stages():
        for instruction, arguments in stage:
            if instruction not in ("COPY", "ADD") or "--from=" in arguments:
                continue
            words = json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)
            for source in [w for w in words if not w.startswith("--")][:-1]:
                assert list(ROOT.glob(source)), f"COPY {source}: not in the repository"
                assert not dockerignore_excludes(source), f"COPY {source}: in .dockerignore"
                copied.add(source.rstrip("/"))
    packages = pyproject()["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    needed = {"pyproject.toml", "uv.lock", pyproject()["project"]["readme"], *packages}
    assert needed <= copied, f"not copied into the image: {sorted(needed - copied)}"


def test_dockerfile_installs_from_the_lock_and_runs_as_a_user() -> None:
    *_, runtime = dockerfile_stages()
    runs = [args for stage in dockerfile_stages() for ins, args in stage if ins == "RUN"]
    assert any(re.search(r"pip install uv==\d+\.\d+\.\d+", run) for run in runs), "pin uv"
    syncs = [set(sync.split()) for run in runs for sync in re.findall(r"uv sync[^&;|]*", run)]
    assert syncs, "the image installs with uv sync"
    for flags in syncs:
        assert flags & {"--frozen", "--locked"}, "install exactly what uv.lock says"
        assert "--no-dev" in flags, "no dev dependencies in the image"
    assert any("--no-install-project" not in flags for flags in syncs), "the project itself"
    env = " ".join(args for ins, args in runtime if ins == "ENV")
    assert "PYTHONUNBUFFERED=1" in env
    assert "/app/.venv/bin" in env, "the venv must be on PATH"
    users = [args for ins, args in runtime if ins == "USER"]
    assert users and users[-1] not in ("root", "0"), "the image must not run as root"


def test_dockerfile_cmd_runs_a_module_that_exists() -> None:
    *_, runtime = dockerfile_stages()
    commands = [args for ins, args in runtime if ins == "CMD"]
    assert commands, "the image has a default command"
    args = json.loads(commands[-1])
    references = list(module_references(args))
    assert references, f"CMD {args} names no module"
    problems = [p for ref in references for p in module_problems(*ref)]
    assert not problems, "\n".join(problems)


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    for path in (".env", ".env.local", ".git", ".venv", "api/__pycache__/x.pyc", "data/app.db"):
        assert dockerignore_excludes(path), path
    for path in ("pyproject.toml", "uv.lock", "README.md", "api/__init__.py"):
        assert not dockerignore_excludes(path), path
