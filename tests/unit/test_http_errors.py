"""Every bad input gets the one error body, never a 500 or an HTML page."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from gunicorn.http.errors import InvalidChunkSize
from werkzeug.test import TestResponse

from api.errors import render
from shared.accounts.tokens import revoke_token
from shared.core.error_body import STATUSES
from shared.core.errors import (
    DatabaseUnavailable,
    DomainError,
    RateLimited,
    Unauthenticated,
)
from shared.core.settings import get_settings


def error_of(response: object) -> dict[str, object]:
    body = response.get_json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert set(body["error"]) == {"type", "code", "message", "param"}
    return body["error"]  # type: ignore[no-any-return]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_missing_and_unknown_tokens_answer_401(client: FlaskClient) -> None:
    assert error_of(client.get("/v1/jobs"))["code"] == "missing_token"
    response = client.get("/v1/jobs", headers=auth("nope"))
    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_token"


def test_revoked_token_fails(client: FlaskClient, token: str) -> None:
    assert client.get("/v1/jobs", headers=auth(token)).status_code == 200
    assert revoke_token(token)
    assert client.get("/v1/jobs", headers=auth(token)).status_code == 401


def test_malformed_json_is_400(client: FlaskClient, token: str) -> None:
    response = client.post(
        "/v1/chat", data="{not json", headers=auth(token), content_type="application/json"
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"


def test_invalid_utf8_and_deep_json_are_400(client: FlaskClient, token: str) -> None:
    for body in (
        b'{"message": "\xff\xfe"}',
        b'{"a":' * 5000 + b"1" + b"}" * 5000,
        b'{"message": "hi", "metadata": {"n": NaN}}',
        b'{"input": "x", "text": {"format": {"type": "json_schema", "name": "n", '
        b'"schema": {"maximum": Infinity}}}}',
    ):
        response = client.post(
            "/v1/chat", data=body, headers=auth(token), content_type="application/json"
        )
        assert response.status_code == 400, response.data
        error_of(response)


def test_wrong_content_type_is_415(client: FlaskClient, token: str) -> None:
    response = client.post("/v1/chat", data="message=hi", headers=auth(token))
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_unknown_field_is_422_naming_it(client: FlaskClient, token: str) -> None:
    response = client.post("/v1/chat", json={"message": "hi", "colour": "red"}, headers=auth(token))
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "unknown_parameter" and error["param"] == "colour"


def test_invalid_field_is_422_naming_it(client: FlaskClient, token: str) -> None:
    response = client.post("/v1/chat", json={"message": ""}, headers=auth(token))
    assert response.status_code == 422
    assert error_of(response)["param"] == "message"
    response = client.get("/v1/jobs", query_string={"limit": -1}, headers=auth(token))
    assert response.status_code == 422 and error_of(response)["param"] == "limit"
    response = client.get("/v1/jobs/job_x", query_string={"wait": 10**9}, headers=auth(token))
    assert response.status_code == 422 and error_of(response)["param"] == "wait"


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/responses", {"input": [{"role": "user", "content": []}]}, "input.0.content"),
        ("/v1/responses", {"input": "x", "tools": [{"type": "function"}]}, "tools.0.name"),
        ("/v1/chat", {"message": "hi", "tools": [{}]}, "tools.0"),
        ("/v1/chat", {"message": "hi", "tools": ["bad name!"]}, "tools.0"),
    ],
)
def test_a_field_that_takes_several_forms_is_named_as_sent(
    client: FlaskClient, token: str, path: str, body: dict[str, object], param: str
) -> None:
    response = client.post(path, json=body, headers=auth(token))
    assert response.status_code == 422
    assert error_of(response)["param"] == param


def test_a_cursor_of_another_kind_is_422(client: FlaskClient, token: str) -> None:
    for path in ("/v1/jobs", "/v1/conversations"):
        response = client.get(path, query_string={"after": "garbage"}, headers=auth(token))
        assert response.status_code == 422, path
        assert error_of(response)["code"] == "invalid_cursor"
    # A job since purged still marks where its page ended.
    response = client.get("/v1/jobs", query_string={"after": "job_gone"}, headers=auth(token))
    assert response.status_code == 200


def test_a_json_schema_whose_ref_leads_nowhere_is_422(client: FlaskClient, token: str) -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/missing"}, "b": {"$ref": "#/$defs/kept"}},
        "$defs": {"kept": {"type": "string"}},
        "required": ["b"],
    }
    text = {"format": {"type": "json_schema", "name": "s", "schema": schema}}
    response = client.post("/v1/responses", json={"input": "x", "text": text}, headers=auth(token))
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_json_schema" and "#/$defs/missing" in str(error["message"])
    schema["properties"]["a"] = {"$ref": "#/required/x"}  # type: ignore[index]
    response = client.post("/v1/responses", json={"input": "x", "text": text}, headers=auth(token))
    assert response.status_code == 422, response.get_json()
    del schema["properties"]["a"]  # type: ignore[attr-defined]
    response = client.post("/v1/responses", json={"input": "x", "text": text}, headers=auth(token))
    assert response.status_code == 202, response.get_json()


def test_oversized_body_is_413(client: FlaskClient, token: str) -> None:
    body = b'{"message": "' + b"x" * (25 * 1024 * 1024) + b'"}'
    response = client.post(
        "/v1/chat", data=body, headers=auth(token), content_type="application/json"
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_unknown_ids_and_routes_are_404_json(client: FlaskClient, token: str) -> None:
    for path in (
        "/v1/jobs/job_nope",
        "/v1/conversations/conv_nope",
        "/v1/responses/resp_x",
        "/no/such/route",
    ):
        response = client.get(path, headers=auth(token))
        assert response.status_code == 404, path
        error_of(response)


def chunked_chat(client: FlaskClient, token: str, body: io.BytesIO) -> TestResponse:
    """POST /v1/chat with `body` as gunicorn hands the app a chunked one (no Content-Length)."""
    return client.post(
        "/v1/chat",
        input_stream=body,
        headers={**auth(token), "Transfer-Encoding": "chunked"},
        content_type="application/json",
        environ_base={"wsgi.input_terminated": True},
    )


def test_oversized_chunked_body_is_413_not_cut_off(client: FlaskClient, token: str) -> None:
    body = b'{"message": "' + b"x" * (2 * get_settings().MAX_REQUEST_BYTES) + b'"}'
    response = chunked_chat(client, token, io.BytesIO(body))
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_a_malformed_chunk_is_400(client: FlaskClient, token: str) -> None:
    class MalformedChunks(io.BytesIO):
        def read(self, _size: int | None = -1) -> bytes:
            raise InvalidChunkSize(b"zz")  # what gunicorn's body reader raises

        readinto = read  # type: ignore[assignment]

    response = chunked_chat(client, token, MalformedChunks())
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"


def test_wrong_method_is_405_json_naming_the_allowed_ones(client: FlaskClient, token: str) -> None:
    response = client.delete("/v1/chat", headers=auth(token))
    assert response.status_code == 405
    error_of(response)
    assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}


def test_service_token_must_name_a_valid_user(client: FlaskClient, service_token: str) -> None:
    response = client.get("/v1/jobs", headers=auth(service_token))
    assert response.status_code == 422 and error_of(response)["param"] == "user_id"
    response = client.get(
        "/v1/jobs", query_string={"user_id": "bad id!"}, headers=auth(service_token)
    )
    assert response.status_code == 422 and error_of(response)["param"] == "user_id"


def test_user_token_cannot_act_for_another_user(client: FlaskClient, token: str) -> None:
    response = client.post(
        "/v1/chat", json={"message": "hi", "user_id": "bob"}, headers=auth(token)
    )
    assert response.status_code == 404


def test_submits_past_the_rate_limit_answer_429_with_retry_after(
    client: FlaskClient, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATE_LIMIT", "3/minute")
    get_settings.cache_clear()
    answers = [
        client.post("/v1/chat", json={"message": f"m{n}"}, headers=auth(token)) for n in range(4)
    ]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert error_of(answers[-1])["code"] == "rate_limited"
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 61


@pytest.mark.parametrize("kind", sorted(STATUSES, key=lambda kind: STATUSES[kind]), ids=str)
def test_each_domain_error_answers_its_own_status_in_the_one_error_body(
    app: Flask, kind: type[DomainError]
) -> None:
    error = (
        RateLimited("rate_limited", "Slow down.", retry_after=7)
        if kind is RateLimited
        else kind("some_code", "What went wrong.", "field")
    )
    with app.test_request_context():
        response = render(error)
    assert response.status_code == STATUSES[kind]
    assert response.get_json()["error"]["code"] == error.code
    assert response.get_json()["error"]["param"] == error.param
    if kind is RateLimited:
        assert response.headers["Retry-After"] == "7"
    if kind is Unauthenticated:
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_database_that_is_away_is_a_503_to_retry(app: Flask) -> None:
    with app.test_request_context():
        response = render(DatabaseUnavailable())
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
