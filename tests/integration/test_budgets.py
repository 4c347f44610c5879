"""Token budgets on a real stack: the upstream's reported usage is counted per user as jobs end,
a job's tool rounds summed; a user past a budget is refused with 429 until it is lifted."""

from __future__ import annotations

import re
import uuid

import httpx

from client import Gateway
from tests.harness import Stack, wait_until
from tests.integration.conftest import chat, wait_for_job
from tests.integration.test_caller_tools_offline import CANCEL_BOOKING


def _usage(api: httpx.Client, user: str) -> dict[str, int]:
    answer = api.get("/v1/usage", params={"user_id": user})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _submit(api: httpx.Client, user: str) -> httpx.Response:
    return api.post("/v1/chat", json={"message": "Hello", "user_id": user})


def test_the_job_that_spends_a_budget_finishes_and_the_next_submit_is_refused(
    stack: Stack, api: httpx.Client
) -> None:
    user = f"budget-{uuid.uuid4().hex[:6]}"
    assert "daily_tokens=1\t" in stack.flask("users", "set", user, "--daily-tokens", "1")
    done = wait_for_job(api, chat(api, user, "Hello")["id"], user)
    assert done["status"] == "completed"
    spent = done["result"]["usage"]["total_tokens"]
    assert spent > 1

    refused = _submit(api, user)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "budget_exceeded"
    assert 1 <= int(refused.headers["Retry-After"]) <= 86_400
    assert len(api.get("/v1/jobs", params={"user_id": user}).json()["data"]) == 1

    usage = _usage(api, user)
    assert usage["today"] == {
        "used_tokens": spent,
        "budget_tokens": 1,
        "remaining_tokens": 0,
        "resets_at": usage["today"]["resets_at"],
    }
    assert [day["jobs"] for day in usage["days"]] == [1]
    printed = stack.flask("users", "usage", user)
    assert f"today\tused={spent}\tbudget=1\tremaining=0" in printed

    stack.flask("users", "set", user, "--default-daily-tokens")
    # The API keeps a user's budget for a few seconds.
    wait_until(lambda: _submit(api, user).status_code == 202, timeout=10, what="budget lifted")


def test_a_jobs_tool_rounds_are_summed_and_counted_by_model(
    stack: Stack, api: httpx.Client
) -> None:
    user = f"rounds-{uuid.uuid4().hex[:6]}"
    job = chat(api, user, "What's the weather in Paris?", tools=["get_weather"])
    done = wait_for_job(api, job["id"], user)
    assert done["status"] == "completed", done
    responses = api.get(
        f"/v1/conversations/{done['conversation_id']}/responses", params={"user_id": user}
    ).json()["data"]
    assert len(responses) >= 2  # the tool call, then the answer
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        summed = sum(response["usage"][key] for response in responses)
        assert done["result"]["usage"][key] == summed
        assert _usage(api, user)["total"][key] == summed

    def counted() -> float:
        metrics = httpx.get(f"http://127.0.0.1:{stack.worker_metrics_port}/metrics").text
        found = re.search(
            r'gateway_tokens_total\{model="gpt-5-nano",type="output"\} (\S+)', metrics
        )
        return float(found[1]) if found else 0.0

    assert counted() >= done["result"]["usage"]["output_tokens"]


def test_a_job_resumed_with_tool_outputs_is_counted_once_with_both_responses(
    stack: Stack, api: httpx.Client
) -> None:
    user = f"resumed-{uuid.uuid4().hex[:6]}"
    with Gateway(stack.api_url, stack.token, user_id=user) as gateway:
        job = gateway.respond("Please cancel my booking 5521", tools=[CANCEL_BOOKING]).wait(30)
        assert job.status == "requires_action", job
        assert _usage(api, user)["days"] == []  # waiting is not finished
        first = job.data["result"]["usage"]["total_tokens"]  # the response that called the tool
        [call] = job.tool_calls
        done = job.submit_tool_outputs({call["call_id"]: "cancelled"}).wait(30)
    assert done.status == "completed", done
    usage = _usage(api, user)
    assert [day["jobs"] for day in usage["days"]] == [1]
    assert usage["total"]["total_tokens"] == done.data["result"]["usage"]["total_tokens"]
    assert 0 < first < usage["total"]["total_tokens"]
