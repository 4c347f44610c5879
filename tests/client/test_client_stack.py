"""The client library and the `gateway` command against one real stack (module-scoped)."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from client import (
    AsyncGateway,
    AuthenticationError,
    ConversationClosed,
    Gateway,
    IdempotencyKeyReused,
    JobNotCancellable,
    MissingUserId,
    NotFound,
)
from client.core import chat_body
from offline_weather.server import OpenMeteoServer
from tests.harness import Stack

pytestmark = pytest.mark.integration

GATEWAY_BIN = str(Path(sys.executable).parent / "gateway")
WEATHER_TOOL = {
    "type": "function",
    "name": "lookup_weather",
    "description": "Get the current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with OpenMeteoServer() as meteo:
        settings = {
            "RATE_LIMIT": "100000/minute",
            "WEATHER_API_URL": f"{meteo.base_url}/v1/forecast",
            "GEOCODING_API_URL": f"{meteo.base_url}/v1/search",
        }
        running = Stack(settings=settings).start()
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture()
def gw(stack: Stack, request: pytest.FixtureRequest) -> Iterator[Gateway]:
    with Gateway(stack.api_url, stack.token, user_id=f"u-{request.node.name[:30]}") as gateway:
        yield gateway


def set_latency(stack: Stack, ms: int) -> None:
    httpx.put(f"{stack.upstream_url}/_offline/config", json={"latency_ms": ms}).raise_for_status()


def test_chat_wait_and_memory(gw: Gateway) -> None:
    job = gw.chat("Hello, my name is Ada").wait(30)
    assert job.status == "completed" and job.output_text.startswith("[offline turn 1]")
    second = gw.chat("What is my name?", conversation_id=job.conversation_id).wait(30)
    assert second.status == "completed" and "Ada" in second.output_text
    assert gw.job(second.id).output_text == second.output_text
    assert {j["id"] for j in gw.jobs()} >= {job.id, second.id}


def test_events_stream_and_resume_with_last_event_id(gw: Gateway) -> None:
    job = gw.chat("Tell me a story about a lighthouse")
    full = list(job.events())
    assert full[-1].event == "status" and full[-1].data["status"] == "completed"
    deltas = "".join(e.data["delta"] for e in full if e.event == "output_text.delta")
    assert deltas == job.refresh().output_text
    assert len(full) >= 3
    # Drop the connection after two events, then resume where it stopped.
    stream = job.events()
    first = list(itertools.islice(stream, 2))
    stream.close()
    rest = list(job.events(last_event_id=first[-1].id))
    assert [e.id for e in first + rest] == [e.id for e in full]
    # Resumed after the end: the gateway answers how the job ended (from its database).
    (end,) = job.events(last_event_id=full[-1].id)
    assert end.is_terminal and end.data["status"] == "completed"


def test_cancel_a_running_job(stack: Stack, gw: Gateway) -> None:
    set_latency(stack, 5000)
    try:
        job = gw.chat("Take your time")
        time.sleep(0.3)
        job.cancel()
        assert job.wait(10).status == "cancelled"
        with pytest.raises(JobNotCancellable):
            job.cancel()
    finally:
        set_latency(stack, 0)


def test_caller_tool_outputs(gw: Gateway) -> None:
    job = gw.respond("What's the weather in Paris?", tools=[WEATHER_TOOL]).wait(30)
    assert job.status == "requires_action", job.data
    calls = job.tool_calls
    assert calls and calls[0]["name"] == "lookup_weather"
    job.submit_tool_outputs([{"call_id": c["call_id"], "output": "Sunny, 21 C"} for c in calls])
    assert job.wait(30).status == "completed"


def test_server_tool_events(gw: Gateway) -> None:
    job = gw.chat("What's the weather in Paris?", tools=["get_weather"])
    names = [e.event for e in job.events()]
    assert "tool_call" in names and "tool_output" in names
    assert job.refresh().status == "completed"


def test_conversations_list_get_close_history(gw: Gateway) -> None:
    job = gw.chat("Hello there").wait(30)
    conversation_id = job.conversation_id
    assert conversation_id
    assert gw.conversations.get(conversation_id)["status"] == "active"
    assert conversation_id in {c["id"] for c in gw.conversations.list(status="active")}
    history = gw.conversations.history(conversation_id)
    assert [r["output_text"] for r in history] == [job.output_text]
    assert gw.conversations.close(conversation_id)["status"] == "closed"
    assert conversation_id in {c["id"] for c in gw.conversations.list(status="closed")}
    with pytest.raises(ConversationClosed) as raised:
        gw.chat("Anyone?", conversation_id=conversation_id)
    assert raised.value.status == 409 and raised.value.code == "conversation_closed"
    with pytest.raises(NotFound):
        gw.conversations.get("conv_doesnotexist")


def test_files_upload_and_use(gw: Gateway, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("The launch code is 1234.\n")
    uploaded = gw.files.upload(path)
    assert uploaded["id"].startswith("file_") and uploaded["media_type"] == "text/plain"
    assert gw.files.get(uploaded["id"])["filename"] == "notes.txt"
    content = [
        {"type": "input_text", "text": "Summarise this"},
        {"type": "input_file", "file_id": uploaded["id"]},
    ]
    job = gw.respond([{"role": "user", "content": content}]).wait(30)
    assert job.status == "completed", job.data


def test_idempotent_submit_reuses_the_first_job(gw: Gateway) -> None:
    body = chat_body("Only once please", None, None, None, None, None)
    first = gw._submit("/v1/chat", body, "key-123")
    again = gw._submit("/v1/chat", body, "key-123")
    assert first.id == again.id
    assert len([j for j in gw.jobs() if j["id"] == first.id]) == 1
    with pytest.raises(IdempotencyKeyReused):
        gw._submit("/v1/chat", {**body, "message": "another body"}, "key-123")


def test_auth_errors(stack: Stack) -> None:
    with Gateway(stack.api_url, "wrong-token") as bad, pytest.raises(AuthenticationError):
        bad.jobs()
    with Gateway(stack.api_url, stack.token) as anonymous, pytest.raises(MissingUserId):
        anonymous.chat("hi")


def test_user_token(stack: Stack) -> None:
    token = stack.flask("tokens", "create", "carol").strip().split()[-1]
    with Gateway(stack.api_url, token) as carol:
        assert carol.chat("Hi from carol").wait(30).status == "completed"


def test_async_twin(stack: Stack) -> None:
    async def run() -> None:
        async with AsyncGateway(stack.api_url, stack.token, user_id="async-user") as gw:
            job = await (await gw.chat("Hello async")).wait(30)
            assert job.status == "completed" and job.output_text.startswith("[offline turn 1]")
            streamed = await gw.chat("Stream it", conversation_id=job.conversation_id)
            events = [e async for e in streamed.events()]
            assert events[-1].data["status"] == "completed"
            text = "".join(e.data["delta"] for e in events if e.event == "output_text.delta")
            assert text == (await streamed.refresh()).output_text
            history = await gw.conversations.history(str(job.conversation_id))
            assert len(history) == 2

    asyncio.run(run())


# -- the command-line client, as a real subprocess -------------------------------------------


def cli(stack: Stack, *args: str, user: str = "cli-user") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    command = [GATEWAY_BIN, *args, "--url", stack.api_url, "--token", stack.token, "--user", user]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)


def test_cli_chat_piped_and_json(stack: Stack) -> None:
    done = cli(stack, "chat", "hello")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("[offline turn 1]")
    assert "\x1b" not in done.stdout  # plain text when piped
    answer = json.loads(cli(stack, "chat", "hello again", "--json").stdout)
    assert answer["status"] == "completed" and answer["object"] == "job"
    follow = cli(stack, "chat", "and again", "--conversation", answer["conversation_id"])
    assert follow.stdout.startswith("[offline turn 2]"), follow.stderr


def test_cli_listings(stack: Stack) -> None:
    user = "cli-lister"
    chat = json.loads(cli(stack, "chat", "hello", "--json", user=user).stdout)
    conversation_id, job_id = chat["conversation_id"], chat["id"]
    table = cli(stack, "conversations", user=user).stdout.splitlines()
    assert table[0].split() == ["ID", "STATUS", "CREATED", "LAST", "ACTIVE", "EXPIRES"]
    assert any(line.startswith(conversation_id) and "active" in line for line in table[1:])
    active = cli(stack, "conversations", "--status", "active", "--json", user=user)
    listed = json.loads(active.stdout)
    assert [c["id"] for c in listed] == [conversation_id]
    assert chat["result"]["output_text"] in cli(stack, "history", conversation_id, user=user).stdout
    assert job_id in cli(stack, "jobs", user=user).stdout
    assert json.loads(cli(stack, "job", job_id, "--json", user=user).stdout)["id"] == job_id
    assert "completed" in cli(stack, "job", job_id, user=user).stdout
    assert cli(stack, "close", conversation_id, user=user).stdout.split() == [
        conversation_id,
        "closed",
    ]
    refused = cli(stack, "chat", "more", "--conversation", conversation_id, user=user)
    assert refused.returncode == 1 and "conversation_closed" in refused.stderr


def test_cli_file_and_tool(stack: Stack, tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_text("Quarterly numbers went up.\n")
    done = cli(stack, "chat", "Summarise this", "--file", str(path))
    assert done.returncode == 0 and done.stdout.startswith("[offline turn"), done.stderr
    weather = cli(stack, "chat", "What's the weather in Paris?", "--tool", "get_weather")
    assert weather.returncode == 0 and weather.stdout.strip(), weather.stderr


def test_cli_interrupt_cancels_when_piped(stack: Stack) -> None:
    set_latency(stack, 8000)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        env.update(GATEWAY_URL=stack.api_url, GATEWAY_TOKEN=stack.token, GATEWAY_USER="cli-int")
        proc = subprocess.Popen(
            [GATEWAY_BIN, "chat", "slowly please"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # A shell starts a background job with SIGINT ignored, and children inherit that: give
            # the CLI Ctrl-C as a terminal would, wherever this test runs.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        # Interrupt once the job is submitted (the CLI says so on stderr when piped), whatever
        # the CLI's start-up took, and give it a moment to start following the job's events.
        submitted, _, _ = select.select([proc.stderr], [], [], 30)
        assert submitted, "the CLI did not submit within 30 s"
        said = proc.stderr.readline()
        job_id = said.split()[1]
        time.sleep(0.5)
        proc.send_signal(2)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 130, f"{said}{err}\nstdout: {out}"
        with Gateway(stack.api_url, stack.token, user_id="cli-int") as gw:
            assert gw.job(job_id).wait(10).status == "cancelled"
    finally:
        set_latency(stack, 0)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_cli_live_status_line_under_tmux(stack: Stack, tmp_path: Path) -> None:
    session = f"gw-client-{os.getpid()}"
    script = tmp_path / "run.sh"
    script.write_text(
        f"{GATEWAY_BIN} chat 'hello tmux' --url {stack.api_url} --token {stack.token} "
        "--user tmux-user; echo EXIT=$?; sleep 30\n"
    )
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "30", "bash", str(script)],
        check=True,
    )
    try:
        screen = ""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "EXIT=" not in screen:
            time.sleep(0.2)
            screen = subprocess.run(
                ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout
        assert "EXIT=0" in screen, screen
        assert "[offline turn 1]" in screen
        assert "[done]" in screen, screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_cli_ctrl_c_asks_then_cancels_under_tmux(stack: Stack, tmp_path: Path) -> None:
    session = f"gw-client-int-{os.getpid()}"
    script = tmp_path / "run.sh"
    script.write_text(
        f"{GATEWAY_BIN} chat 'slow one' --url {stack.api_url} --token {stack.token} "
        "--user tmux-int; echo EXIT=$?; sleep 30\n"
    )

    def screen() -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
        ).stdout

    def wait_for(text: str) -> str:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and text not in (shown := screen()):
            time.sleep(0.1)
        assert text in shown, shown
        return shown

    set_latency(stack, 8000)
    command = ["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "30"]
    subprocess.run([*command, "bash", str(script)], check=True)
    try:
        wait_for("[in progress]")
        subprocess.run(["tmux", "send-keys", "-t", session, "C-c"], check=True)
        wait_for("[y/N]")
        subprocess.run(["tmux", "send-keys", "-t", session, "y", "Enter"], check=True)
        shown = wait_for("EXIT=")
        assert "EXIT=130" in shown and "[cancelled]" in shown, shown
    finally:
        set_latency(stack, 0)
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_the_readme_python_example_runs_as_written(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = re.search(r"```python\n(from client import Gateway\n.*?)```", readme, re.S)
    assert example, "the README's Python example is gone"
    code = example[1].replace('"http://127.0.0.1:8000"', repr(stack.api_url))
    exec(code, {"token": stack.token})
    printed = capsys.readouterr().out
    assert "The get_weather tool says" in printed and " completed conv_" in printed


def test_cli_history_shows_both_sides_of_the_transcript(stack: Stack, tmp_path: Path) -> None:
    user = "cli-historian"
    path = tmp_path / "notes.txt"
    path.write_text("Remember the milk.\n")
    first = json.loads(cli(stack, "chat", "Hello, my name is Ada", "--json", user=user).stdout)
    conversation_id = first["conversation_id"]
    more = ("--conversation", conversation_id)
    cli(stack, "chat", "What's the weather in Paris?", "--tool", "get_weather", *more, user=user)
    cli(stack, "chat", "Read this", "--file", str(path), *more, user=user)

    shown = cli(stack, "history", conversation_id, user=user)
    assert shown.returncode == 0, shown.stderr
    lines = [line.split("  ", 1)[1] for line in shown.stdout.splitlines()]
    assert lines[0] == "you: Hello, my name is Ada"
    assert lines[1] == f"assistant: {first['result']['output_text']}"
    assert lines[2] == "you: What's the weather in Paris?"
    assert lines[3] == 'tool call: get_weather({"city": "Paris"})'
    assert lines[4].startswith("tool output: ") and "21.4" in lines[4]
    assert lines[5].startswith("assistant: [offline turn 2]")
    assert lines[6] == "you: Read this  [attached: notes.txt]"
    assert lines[7].startswith("assistant: [offline turn 3]") and len(lines) == 8

    with Gateway(stack.api_url, stack.token, user_id=user) as gw:
        page = gw.conversations.messages(conversation_id, limit=3)
        assert [item["role"] for item in page] == ["user", "assistant", "user"] and page.has_more
        rest = gw.conversations.messages(conversation_id, after=page.last_id)
        assert len(page) + len(rest) == 8 and not rest.has_more
    as_json = json.loads(cli(stack, "history", conversation_id, "--json", user=user).stdout)
    assert [item["id"] for item in as_json] == [item["id"] for item in [*page, *rest]]
