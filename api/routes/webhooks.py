"""A job's webhook deliveries: list them with their attempts, and send the event again."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from api.http import acting_user, json_body, query
from api.openapi import documented
from api.schemas import ListQuery, UserQuery, UserScoped
from shared.views import WebhookDeliveryBody, WebhookDeliveryList
from shared.webhooks.job_deliveries import list_deliveries, redeliver

bp = Blueprint("webhooks", __name__)


@bp.get("/v1/jobs/<job_id>/deliveries")
@documented({"HTTP_200": WebhookDeliveryList}, query=ListQuery)
def read_deliveries(job_id: str) -> dict[str, Any]:
    """The job's webhook deliveries, oldest first, each with its attempts and next retry."""
    params = query(ListQuery)
    return list_deliveries(acting_user(params.user_id), job_id, params.limit, params.after)


@bp.post("/v1/jobs/<job_id>/deliveries/redeliver")
@documented(
    {"HTTP_202": (WebhookDeliveryBody, "the new delivery, on its way")},
    query=UserQuery,
    json=UserScoped,
)
def post_redeliver(job_id: str) -> Response:
    """Send the job's event (as the job stands now) to its webhook again, with a new webhook-id."""
    body = json_body(UserScoped, optional=True)
    answer = jsonify(redeliver(acting_user(body.user_id or query(UserQuery).user_id), job_id))
    answer.status_code = 202
    return answer
