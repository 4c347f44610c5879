"""ops/grafana/gateway-dashboard.json: valid JSON whose every query names metrics that exist."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client.metrics import MetricWrapperBase

from shared.core import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "ops" / "grafana" / "gateway-dashboard.json"
SAMPLE_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
}
# PromQL words that look like metric names: keywords, and the label names in by (...) groupings
# (those are stripped before this applies).
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or"}
KEYWORDS |= {"unless", "offset", "inf", "nan"}


def exported_series() -> set[str]:
    """Every series name shared/core/metrics.py defines, as Prometheus stores it."""
    names = set()
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            [family] = value.describe()
            names |= {family.name + suffix for suffix in SAMPLE_SUFFIXES[family.type]}
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are not functions,
    keywords, label matchers, groupings, ranges or strings."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # strings
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # groupings
    identifier = r"(?<![A-Za-z0-9_:.])[A-Za-z_:][A-Za-z0-9_:]*(?![A-Za-z0-9_:]|\s*\()"
    names = set(re.findall(identifier, expr))
    return names - KEYWORDS


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # the panels of a row


def test_dashboard_queries_name_only_metrics_the_gateway_exports() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exported = exported_series()
    seen: set[str] = set()
    for panel in panels(dashboard):
        assert panel.get("targets"), f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names, f"{panel['title']!r}: no metric in {target['expr']!r}"
            unknown = names - exported
            assert not unknown, (
                f"{panel['title']!r}: {sorted(unknown)} not in shared/core/metrics.py"
            )
            seen |= names
    # What the dashboard is for: request rate, p99 latency, jobs by status, queue depth,
    # upstream errors, calls in flight.
    assert {
        "gateway_http_requests_total",
        "gateway_http_request_duration_seconds_bucket",
        "gateway_jobs_finished_total",
        "gateway_queue_depth",
        "gateway_upstream_calls_total",
        "gateway_upstream_calls_in_flight",
    } <= seen


def test_metric_names_are_read_from_promql() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, route) (rate(gateway_x_bucket{route!="a b"}'
        "[$__rate_interval]))) / ignoring (kind) gateway_y_total offset 5m"
    )
    assert metric_names(expr) == {"gateway_x_bucket", "gateway_y_total"}
