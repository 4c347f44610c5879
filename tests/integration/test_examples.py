"""Every script in examples/ runs against a real stack and prints what its original printed."""

from __future__ import annotations

import ast
import os
import re
import uuid
from pathlib import Path

import pytest

from ops.examples import EXAMPLES, EXAMPLES_DIR, run_example
from tests.harness import Stack
from tests.integration.conftest import EXAMPLE_MCP_PORT

# What each example's output must show (regular expressions, searched in order-free fashion).
EXPECTED: dict[str, list[str]] = {
    "text_completion": [r"^\[offline turn 1\] You said: Write a one-sentence bedtime story"],
    "image_url": [r"I see the image https://upload\.wikimedia\.org/\S+\. You said: What is in"],
    "image_upload": [
        r"uploaded checkerboard\.png as file_\w+",
        r"I see the image checkerboard\.png\. You said: Describe this picture",
    ],
    "pdf_url": [r"I read the file https://www\.berkshirehathaway\.com/letters/2024ltr\.pdf\."],
    "pdf_upload": [
        r"uploaded exercises\.pdf as file_\w+",
        r"I read the file exercises\.pdf\. You said: Solve the exercises",
    ],
    "web_search": [
        r"searched the web: What was a positive news story",
        r"\(offline web search: no results for",
    ],
    "function_calling": [
        r"the model calls track_parcel\(\{'tracking_number': '7781'\}\)",
        r'The track_parcel tool says: \{"status": "in transit", "carrier": "PostNord"',
    ],
    "remote_mcp": [
        r"MCP server 'dice' offers: \['roll'\]",
        r'MCP call roll\(\{"dice": 2, "sides": 6\}\): rolled 2d6: \[[1-6], [1-6]\] \(total \d+\)',
        r"\(MCP roll on 'dice' says: rolled 2d6",
    ],
    "streaming": [
        r"^\[offline turn 1\] You said: Say 'double bubble bath' ten times fast\.\n\[completed\]"
    ],
    "structured_output": [r"^\{'name': "],
    "retrieve_response": [r"created (resp_\w+)\nretrieved \1: \[offline turn 1\] You said: Tell"],
    "conversation_basic": [
        r"conversation conv_\w+\nassistant: \[offline turn 1\] Nice to meet you, Ada\.",
        r"assistant: \[offline turn 2\] Your name is Ada\.",
    ],
    "multi_user_chat": [
        r"alice: \[offline turn 1\] Nice to meet you, Alice\.",
        r"bob: \[offline turn 1\] Nice to meet you, Bob\.",
        r"alice's active conversations: 1 \(includes conv_\w+: True\)",
        r"closed conv_\w+: status closed",
        r"after close: 409 conversation_closed",
        r"alice's closed conversations include it: True",
        r"history:\n  resp_\w+: \[offline turn 1\] Nice to meet you, Alice\.\n"
        r"  resp_\w+: \[offline turn 2\] Your name is Alice\.",
    ],
    "persistent_memory": [r"new conversation\nconversation conv_\w+ \(kept in"],
    "conversation_metadata": [
        r"conversation conv_\w+ metadata: \{\}",
        r"updated metadata: \{'topic': 'travel', 'destination': 'Lisbon'\}",
    ],
    "weather_stateless": [
        r'Assistant: \[offline turn 1\] The get_weather tool says: \{"city": "Paris"',
        r'"temperature_c": 21\.4',
        r'"source": "offline weather stand-in',
    ],
    "weather_sessions": [
        r'The get_weather tool says: \{"city": "Oslo".*"temperature_c": 16\.8',
        r"\(session conv_\w+\)",
    ],
    "weather_advanced_sessions": [
        r'The get_weather tool says: \{"city": "Tokyo".*"temperature_c": 28\.9',
        r"\(session \w+: 2 turns in weather_sessions\.json\)",
    ],
}


def example_env(stack: Stack, user: str | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "GATEWAY_URL": stack.api_url,
        "GATEWAY_TOKEN": stack.token,
        "GATEWAY_USER": user or f"ex-{uuid.uuid4().hex[:10]}",
        "MCP_EXAMPLE_PORT": str(EXAMPLE_MCP_PORT),
    }


def run(stack: Stack, cwd: Path, name: str, *args: str, stdin: str = "") -> str:
    """Run an example as the user the directory is named after (typing `stdin` at its prompt);
    answer its output, failing if it did."""
    env = example_env(stack, user=f"ex-{abs(hash(cwd)) % 10**10}")
    ok, output, _seconds = run_example(name, args, env, cwd, stdin=stdin)
    assert ok, output
    return output


def test_every_example_is_run_and_checked() -> None:
    scripts = {path.stem for path in EXAMPLES_DIR.glob("*.py") if not path.stem.startswith("_")}
    assert scripts == set(EXAMPLES) == set(EXPECTED)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_example_prints_what_its_original_printed(name: str, stack: Stack, tmp_path: Path) -> None:
    ok, output, _seconds = run_example(name, EXAMPLES[name], example_env(stack), tmp_path)
    assert ok, output
    for pattern in EXPECTED[name]:
        assert re.search(pattern, output, re.M | re.S), f"{pattern!r} not in:\n{output}"


def test_structured_output_prints_the_parsed_object(stack: Stack, tmp_path: Path) -> None:
    parsed = ast.literal_eval(run(stack, tmp_path, "structured_output").strip())
    assert set(parsed) == {"name", "date", "participants"}
    assert isinstance(parsed["participants"], list)


def test_persistent_memory_continues_the_conversation_on_the_next_run(
    stack: Stack, tmp_path: Path
) -> None:
    first = run(stack, tmp_path, "persistent_memory", "Hello, my name is Ada.")
    second = run(stack, tmp_path, "persistent_memory", "What is my name?")

    saved = (tmp_path / "persistent_memory_conversation.txt").read_text().strip()
    assert f"conversation {saved} (kept in" in first
    assert f"continuing conversation {saved}" in second
    assert "[offline turn 2] Your name is Ada." in second


def test_the_weather_session_loop_remembers_across_questions(stack: Stack, tmp_path: Path) -> None:
    output = run(
        stack,
        tmp_path,
        "weather_sessions",
        stdin="Hello, my name is Ada\nWhat's the weather in Paris?\nWhat is my name?\nquit\n",
    )
    replies = re.findall(r"Assistant: (.*)", output)
    assert len(replies) == 3, output
    assert replies[1].startswith("[offline turn 2] The get_weather tool says: {")
    assert replies[2] == "[offline turn 3] Your name is Ada."


def test_the_stateless_weather_loop_forgets_between_questions(stack: Stack, tmp_path: Path) -> None:
    output = run(stack, tmp_path, "weather_stateless", stdin="My name is Ada\nWhat is my name?\n")
    assert "Assistant: [offline turn 1] I don't know your name yet." in output


def test_advanced_sessions_keep_the_history_locally_across_runs(
    stack: Stack, tmp_path: Path
) -> None:
    first = run(stack, tmp_path, "weather_advanced_sessions", "--once", "Hello, my name is Ada")
    session = re.search(r"\(session (\w+):", first)
    assert session, first
    second = run(
        stack,
        tmp_path,
        "weather_advanced_sessions",
        "--session",
        session[1],
        "--once",
        "What is my name?",
    )
    history = run(
        stack, tmp_path, "weather_advanced_sessions", "--session", session[1], "--history"
    )

    assert "Assistant: [offline turn 2] Your name is Ada." in second
    assert f"(session {session[1]}: 4 turns" in second
    assert history.splitlines() == [
        "user: Hello, my name is Ada",
        "assistant: [offline turn 1] Nice to meet you, Ada.",
        "user: What is my name?",
        "assistant: [offline turn 2] Your name is Ada.",
    ]
