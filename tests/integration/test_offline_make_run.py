"""`make run` with no OpenAI key: the weather tool answers from the offline weather service
unless WEATHER_API_URL is set, and a caller's own tool is called through the queue."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest

from offline_weather.server import SOURCE, OpenMeteo, OpenMeteoServer
from ops.examples import EXAMPLES, ROOT, DevStack
from tests.integration.conftest import wait_for_job


def weather_in_paris(stack: DevStack) -> dict[str, object]:
    user = f"u-{uuid.uuid4().hex[:8]}"
    with httpx.Client(
        base_url=stack.url, headers={"Authorization": f"Bearer {stack.token}"}, timeout=60
    ) as api:
        submitted = api.post(
            "/v1/chat",
            json={
                "message": "What's the weather in Paris?",
                "user_id": user,
                "tools": ["get_weather"],
            },
        )
        assert submitted.status_code == 202, submitted.text
        done = wait_for_job(api, submitted.json()["id"], user)
    assert done["status"] == "completed", done
    [output] = [i for i in done["result"]["output"] if i["type"] == "function_call_output"]
    return {"reply": done["result"]["output_text"], **json.loads(output["output"])}


@pytest.fixture()
def real_weather() -> Iterator[OpenMeteo]:
    with OpenMeteoServer() as state:
        yield state


def test_make_run_offline_answers_the_weather_from_the_offline_service() -> None:
    with DevStack() as stack:
        reading = weather_in_paris(stack)
        assert "offline_weather" in stack.log()
    assert reading["city"] == "Paris" and reading["temperature_c"] == 21.4
    assert reading["source"] == SOURCE
    assert SOURCE in str(reading["reply"])


def test_make_run_calls_the_weather_service_weather_api_url_names(
    real_weather: OpenMeteo,
) -> None:
    settings = {
        "WEATHER_API_URL": f"{real_weather.base_url}/v1/forecast",
        "GEOCODING_API_URL": f"{real_weather.base_url}/v1/search",
    }
    with DevStack(settings=settings) as stack:
        reading = weather_in_paris(stack)
        assert "offline_weather" not in stack.log()
    assert reading["city"] == "Paris"
    assert [path for path, _query in real_weather.requests] == ["/v1/search", "/v1/forecast"]


def test_make_examples_runs_every_example_and_prints_a_line_each() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ops.examples"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()[1:]
    assert [line.split()[0] for line in lines] == list(EXAMPLES)
    assert all(line.split()[1] == "ok" and float(line.split()[2]) > 0 for line in lines), lines
