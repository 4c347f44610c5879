"""/openapi.json describes every route the app serves."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient


def test_every_route_is_documented(app: Flask, client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    served = set()
    for rule in app.url_map.iter_rules():
        # The page's static files are not API operations.
        if rule.endpoint == "web.static" or rule.rule == "/openapi.json":
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        served |= {(path, method) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == documented
