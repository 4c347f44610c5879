"""One user behind both kinds of token: a user token made for a name and a service token acting
for that name reach the same user, whichever came first."""

from __future__ import annotations

from flask.testing import FlaskClient

from shared.accounts.tokens import create_token
from shared.core.db import read_session, write_session
from shared.core.models import User


def _submit(client: FlaskClient, service_token: str, user_id: str) -> str:
    answer = client.post(
        "/v1/chat",
        json={"message": "hi", "user_id": user_id},
        headers={"Authorization": f"Bearer {service_token}"},
    )
    assert answer.status_code == 202, answer.get_json()
    return str(answer.get_json()["id"])


def _job_ids(client: FlaskClient, token: str) -> list[str]:
    answer = client.get("/v1/jobs", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.get_json()
    return [job["id"] for job in answer.get_json()["data"]]


def test_a_service_acts_for_the_user_a_token_was_made_for(
    client: FlaskClient, service_token: str
) -> None:
    token, user_id = create_token("ada")
    assert user_id == "ada"
    job_id = _submit(client, service_token, "ada")
    assert _job_ids(client, token) == [job_id]


def test_a_token_is_made_for_the_user_a_service_made(
    client: FlaskClient, service_token: str
) -> None:
    job_id = _submit(client, service_token, "bob")
    token, user_id = create_token("bob")
    assert user_id == "bob"
    assert _job_ids(client, token) == [job_id]


def test_a_service_user_whose_name_is_taken_gets_another_name(
    client: FlaskClient, service_token: str
) -> None:
    with write_session() as session:  # as `tokens create carol` made users before ids followed
        session.add(User(id="usr_earlier", name="carol"))
    _submit(client, service_token, "carol")
    with read_session() as session:
        made = session.get_one(User, "carol")
    assert made.name.startswith("carol#")
    assert create_token("carol")[1] == "usr_earlier"


def test_a_name_that_cannot_be_an_id_gets_a_made_id() -> None:
    _, user_id = create_token("Ada Lovelace")
    assert user_id.startswith("usr_")
    assert create_token("Ada Lovelace")[1] == user_id
