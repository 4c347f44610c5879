"""The asyncio twin of `client.sync`: `AsyncGateway`, `AsyncJob`, conversations and files."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Unpack

import httpx
from httpx_sse import EventSource

from client.core import (
    DEFAULT_TIMEOUT,
    CreateParameters,
    Event,
    JobView,
    Json,
    Page,
    RetryPolicy,
    ToolSpec,
    chat_body,
    compact,
    error_for,
    events_path,
    job_event,
    json_parameters,
    poll_wait,
    reconnect_delay,
    respond_body,
    tool_outputs_body,
    usage_range,
)
from client.errors import TransportError

MAX_RECONNECTS = 8


class AsyncGateway:
    """An asyncio client of the gateway's HTTP API; the same surface as `Gateway`."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        user_id: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 4,
        max_retry_wait: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.user_id = user_id
        self.retry = RetryPolicy(max_retries=max_retries, max_wait=max_retry_wait)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
        )
        self.conversations = AsyncConversations(self)
        self.files = AsyncFiles(self)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncGateway:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    # -- requests ---------------------------------------------------------------------------

    def _params(self, **params: Any) -> Json:
        return compact(user_id=self.user_id, **params)

    def _body(self, body: Json) -> Json:
        return {**body, "user_id": self.user_id} if self.user_id else body

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Json | None = None,
        headers: Mapping[str, str] | None = None,
        files: Any = None,
        data: Mapping[str, str] | None = None,
        retry_transport: bool | None = None,
    ) -> httpx.Response:
        """Sends one call, retrying 429 and 503 (after Retry-After, bounded) and, for GETs and
        keyed submits, connections that failed; raises the error's exception otherwise."""
        if retry_transport is None:
            retry_transport = method == "GET" or bool(headers and "Idempotency-Key" in headers)
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    method, path, params=params, json=json, headers=headers, files=files, data=data
                )
            except httpx.TransportError as exc:
                delay = self.retry.after_transport_error(attempt) if retry_transport else None
                if delay is None:
                    raise TransportError(0, "transport_error", str(exc) or repr(exc)) from exc
            else:
                if response.status_code < 400:
                    return response
                error = error_for(response)
                delay = self.retry.after_error(attempt, error)
                if delay is None:
                    raise error
            await self._sleep(delay)
            attempt += 1

    async def _get(self, path: str, **params: Any) -> Json:
        body: Json = (await self.request("GET", path, params=self._params(**params))).json()
        return body

    async def _post(self, path: str, body: Json | None = None) -> Json:
        answer: Json = (await self.request("POST", path, json=self._body(body or {}))).json()
        return answer

    async def _submit(
        self, path: str, body: Json, idempotency_key: str, wait: float | None = None
    ) -> AsyncJob:
        headers = {"Idempotency-Key": idempotency_key}
        if wait:
            headers["Prefer"] = f"wait={wait:g}"
        response = await self.request("POST", path, json=self._body(body), headers=headers)
        job = AsyncJob(self, {})
        job._update(response)
        return job

    # -- jobs -------------------------------------------------------------------------------

    async def chat(
        self,
        message: str,
        conversation_id: str | None = None,
        tools: Sequence[ToolSpec] | None = None,
        model: str | None = None,
        instructions: str | None = None,
        metadata: Mapping[str, str] | None = None,
        *,
        wait: float | None = None,
        idempotency_key: str | None = None,
        webhook_url: str | None = None,
        **parameters: Unpack[CreateParameters],
    ) -> AsyncJob:
        """POST /v1/chat: a message in a conversation (a new one without conversation_id);
        `parameters` are Responses create parameters (max_output_tokens, temperature, …)."""
        body = chat_body(
            message, conversation_id, tools, model, instructions, metadata, parameters, webhook_url
        )
        return await self._submit("/v1/chat", body, idempotency_key or str(uuid.uuid4()), wait)

    async def respond(
        self,
        input: str | Sequence[Mapping[str, Any]],
        conversation_id: str | None = None,
        tools: Sequence[ToolSpec] | None = None,
        model: str | None = None,
        instructions: str | None = None,
        metadata: Mapping[str, str] | None = None,
        *,
        text: Mapping[str, Any] | None = None,
        reasoning: Mapping[str, Any] | None = None,
        wait: float | None = None,
        idempotency_key: str | None = None,
        webhook_url: str | None = None,
        **parameters: Unpack[CreateParameters],
    ) -> AsyncJob:
        """POST /v1/responses: a general Responses request (input items, tools, text format)."""
        body = respond_body(
            input,
            conversation_id=conversation_id,
            tools=tools,
            model=model,
            instructions=instructions,
            metadata=dict(metadata) if metadata is not None else None,
            text=dict(text) if text is not None else None,
            reasoning=dict(reasoning) if reasoning is not None else None,
            webhook_url=webhook_url,
            **json_parameters(parameters),
        )
        return await self._submit("/v1/responses", body, idempotency_key or str(uuid.uuid4()), wait)

    async def job(self, job_id: str) -> AsyncJob:
        """The job, fetched now."""
        return AsyncJob(self, await self._get(f"/v1/jobs/{job_id}"))

    async def jobs(
        self,
        status: str | None = None,
        conversation_id: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page:
        """The caller's jobs, newest first."""
        return Page.of(
            await self._get(
                "/v1/jobs", status=status, conversation_id=conversation_id, limit=limit, after=after
            )
        )

    async def response(self, response_id: str) -> Json:
        """One stored response."""
        return await self._get(f"/v1/responses/{response_id}")

    async def usage(self, start: date | str | None = None, end: date | str | None = None) -> Json:
        """Tokens and finished jobs per UTC day, and what is left of the budget."""
        return await self._get("/v1/usage", **usage_range(start, end))

    async def deliveries(
        self, job_id: str, limit: int | None = None, after: str | None = None
    ) -> Page:
        """The job's webhook deliveries, oldest first, each with its attempts."""
        return Page.of(await self._get(f"/v1/jobs/{job_id}/deliveries", limit=limit, after=after))

    async def redeliver(self, job_id: str) -> Json:
        """Sends the job's webhook event again, as a new delivery with a new webhook-id."""
        return await self._post(f"/v1/jobs/{job_id}/deliveries/redeliver")


class AsyncJob(JobView):
    """A handle on one job: refresh, wait, stream its events, cancel, answer its tool calls."""

    def __init__(self, gateway: AsyncGateway, data: Json, retry_after: float | None = None) -> None:
        super().__init__(data, retry_after)
        self._gateway = gateway

    async def refresh(self) -> AsyncJob:
        self._update(await self._gateway.request("GET", f"/v1/jobs/{self.id}", params=self._q()))
        return self

    def _q(self, **params: Any) -> Json:
        return self._gateway._params(**params)

    async def wait(self, timeout: float = 60.0) -> AsyncJob:
        """Long-polls until the job is terminal or waits for tool outputs, or `timeout` passes
        (then it answers the job as it is; check `.done`)."""
        deadline = time.monotonic() + timeout
        while not self.settled:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            wait = poll_wait(remaining)
            started = time.monotonic()
            response = await self._gateway.request(
                "GET", f"/v1/jobs/{self.id}", params=self._q(wait=f"{wait:.3f}")
            )
            self._update(response)
            held = time.monotonic() - started
            if not self.settled and held < wait - 0.5:
                # The poll came back early: pace the next one by Retry-After.
                left = max(0.0, deadline - time.monotonic())
                await self._gateway._sleep(min(self.retry_after, left))
        return self

    async def events(
        self, last_event_id: str | None = None, *, reconnect: bool = True
    ) -> AsyncIterator[Event]:
        """The job's Server-Sent Events, from the start or after `last_event_id`, until the
        terminal status; a dropped connection is resumed with Last-Event-ID."""
        cursor = last_event_id
        failures = 0
        while True:
            headers = {"Last-Event-ID": cursor} if cursor else {}
            try:
                async for event in self._stream(headers):
                    failures = 0
                    if event.id:
                        cursor = event.id
                    yield event
                    if event.is_terminal:
                        return
            except TransportError:
                if not reconnect or failures >= MAX_RECONNECTS:
                    raise
            if not reconnect:
                return
            failures += 1
            if failures > MAX_RECONNECTS:
                raise TransportError(0, "stream_ended", "The event stream kept ending early.")
            await self._gateway._sleep(reconnect_delay(failures))

    async def _stream(self, headers: Mapping[str, str]) -> AsyncIterator[Event]:
        http = self._gateway._http
        request = http.build_request(
            "GET", events_path(self.id), params=self._q(), headers=dict(headers)
        )
        try:
            response = await http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise TransportError(0, "transport_error", str(exc) or repr(exc)) from exc
        try:
            if response.status_code >= 400:
                await response.aread()
                raise error_for(response)
            async for sse in EventSource(response).aiter_sse():
                yield job_event(sse)
        except httpx.TransportError as exc:
            raise TransportError(0, "transport_error", str(exc) or repr(exc)) from exc
        finally:
            await response.aclose()

    async def cancel(self) -> AsyncJob:
        """Cancels a queued or running job (JobNotCancellable once it has ended)."""
        self._update(
            await self._gateway.request(
                "POST", f"/v1/jobs/{self.id}/cancel", json=self._gateway._body({})
            )
        )
        return self

    async def submit_tool_outputs(
        self, outputs: Sequence[Mapping[str, str]] | Mapping[str, str]
    ) -> AsyncJob:
        """Answers the calls of `required_action`: `[{"call_id", "output"}]` or `{id: output}`."""
        body = self._gateway._body(tool_outputs_body(outputs))
        self._update(
            await self._gateway.request("POST", f"/v1/jobs/{self.id}/tool_outputs", json=body)
        )
        return self


class AsyncConversations:
    """`gateway.conversations`: list, get, close, history, messages, update, delete."""

    def __init__(self, gateway: AsyncGateway) -> None:
        self._gateway = gateway

    async def list(
        self, status: str | None = None, limit: int | None = None, after: str | None = None
    ) -> Page:
        return Page.of(
            await self._gateway._get("/v1/conversations", status=status, limit=limit, after=after)
        )

    async def get(self, conversation_id: str) -> Json:
        return await self._gateway._get(f"/v1/conversations/{conversation_id}")

    async def close(self, conversation_id: str) -> Json:
        return await self._gateway._post(f"/v1/conversations/{conversation_id}/close")

    async def history(
        self, conversation_id: str, limit: int | None = None, after: str | None = None
    ) -> Page:
        """Its stored responses, oldest first."""
        path = f"/v1/conversations/{conversation_id}/responses"
        return Page.of(await self._gateway._get(path, limit=limit, after=after))

    async def messages(
        self, conversation_id: str, limit: int | None = None, after: str | None = None
    ) -> Page:
        """Its transcript: user turns, tool calls and outputs, replies, oldest first."""
        path = f"/v1/conversations/{conversation_id}/messages"
        return Page.of(await self._gateway._get(path, limit=limit, after=after))

    async def update(self, conversation_id: str, metadata: Mapping[str, str]) -> Json:
        body = self._gateway._body({"metadata": dict(metadata)})
        answer: Json = (
            await self._gateway.request("PATCH", f"/v1/conversations/{conversation_id}", json=body)
        ).json()
        return answer

    async def delete(self, conversation_id: str) -> Json:
        path = f"/v1/conversations/{conversation_id}"
        response = await self._gateway.request("DELETE", path, params=self._gateway._params())
        answer: Json = response.json()
        return answer


class AsyncFiles:
    """`gateway.files`: upload, get, delete."""

    def __init__(self, gateway: AsyncGateway) -> None:
        self._gateway = gateway

    async def upload(self, path: str | Path, *, filename: str | None = None) -> Json:
        """Uploads a PDF, image or text file; answers the file (`id` is its `file_…` id)."""
        source = Path(path)
        content = await asyncio.to_thread(source.read_bytes)
        data = {"user_id": self._gateway.user_id} if self._gateway.user_id else None
        files = {"file": (filename or source.name, content)}
        response = await self._gateway.request("POST", "/v1/files", files=files, data=data)
        answer: Json = response.json()
        return answer

    async def get(self, file_id: str) -> Json:
        return await self._gateway._get(f"/v1/files/{file_id}")

    async def delete(self, file_id: str) -> Json:
        path = f"/v1/files/{file_id}"
        response = await self._gateway.request("DELETE", path, params=self._gateway._params())
        answer: Json = response.json()
        return answer


__all__ = ["AsyncConversations", "AsyncFiles", "AsyncGateway", "AsyncJob"]
