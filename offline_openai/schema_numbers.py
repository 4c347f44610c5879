"""Numbers for generated JSON instances: within bounds, multipleOf-exact, simplest first."""

from __future__ import annotations

import math
from typing import Any


def number(schema: dict[str, Any], integer: bool, variant: int) -> int | float:
    candidates = number_candidates(schema, integer)
    return candidates[variant % len(candidates)]


def number_candidates(schema: dict[str, Any], integer: bool) -> list[int | float]:
    """Distinct values within the bounds, simplest first (never empty)."""
    low, high = _bound(schema.get("minimum")), _bound(schema.get("maximum"))
    ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if ex_low is True:  # draft-4 style boolean flag
        ex_low, low = low, None
    if ex_high is True:
        ex_high, high = high, None
    ex_low, ex_high = _bound(ex_low), _bound(ex_high)
    step = _bound(schema.get("multipleOf"))
    step = step if step is not None and step > 0 else None

    def ok(value: float) -> bool:
        if (low is not None and value < low) or (high is not None and value > high):
            return False
        if (ex_low is not None and value <= ex_low) or (ex_high is not None and value >= ex_high):
            return False
        if step is not None:
            quotient = value / step
            # Same arithmetic as jsonschema's multipleOf check, so floats agree with it.
            if isinstance(step, float) or isinstance(value, float):
                return int(quotient) == quotient
            return bool(value % step == 0)
        return True

    lower = low if low is not None else ex_low
    upper = high if high is not None else ex_high
    anchors: list[float] = [0, 1]
    for bound in (low, high):
        if bound is not None:
            anchors.append(bound)
    if ex_low is not None:
        anchors += [ex_low + 1, ex_low + 0.5, ex_low + 0.001]
    if ex_high is not None:
        anchors += [ex_high - 1, ex_high - 0.5, ex_high - 0.001]
    if lower is not None and upper is not None:
        anchors.insert(0, (lower + upper) / 2)
    if lower is not None and lower > 0:
        anchors.insert(0, lower if low is not None else lower + 1)
    if upper is not None and upper < 0:
        anchors.insert(0, upper if high is not None else upper - 1)
    unit = step or 1
    raw: list[float] = []
    for offset in range(6):
        for anchor in anchors:
            for value in (anchor + offset * unit, anchor - offset * unit):
                if step is not None:
                    k = math.ceil(value / step)
                    raw += [k * step, (k - 1) * step]
                    if isinstance(step, float) and step < 1:
                        digits = max(0, -math.floor(math.log10(step))) + 1
                        raw += [round(k * step, digits), round((k - 1) * step, digits)]
                elif integer:
                    raw += [math.ceil(value), math.floor(value)]
                else:
                    raw += [value, value + 0.5]
    found: list[int | float] = []
    for value in raw:
        normalized = int(value) if integer or float(value).is_integer() else value
        if ok(normalized) and normalized not in found:
            found.append(normalized)
    return found or [int(lower or 0) if integer else (lower or 0)]


def _bound(value: Any) -> float | None:
    """A numeric keyword's value, or None when absent or not a number."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return None
