"""calculate: arithmetic on numbers, evaluated from the syntax tree (never eval)."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from worker.tools.results import ToolError

MAX_EXPRESSION_CHARS = 200
# Results beyond 10**300 are refused: they would overflow floats, and checking before a power
# is computed is what keeps 9**9**9 from eating the worker's memory and CPU.
MAX_DIGITS = 300
LIMIT = 10**MAX_DIGITS

Number = int | float

BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
ALLOWED = "numbers, + - * / // % ** (or ^) and parentheses"


def calculate(expression: str) -> dict[str, Any]:
    if not expression.strip():
        raise ToolError(f"the expression is empty; write one with {ALLOWED}")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ToolError(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    # People write powers as ^; as ** it also gets the precedence they mean.
    source = expression.strip().replace("^", "**")
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, RecursionError, MemoryError):
        raise ToolError(
            f"{expression!r} is not an arithmetic expression; use only {ALLOWED}"
        ) from None
    try:
        result = _evaluate(tree.body)
    except ZeroDivisionError:
        raise ToolError(f"{expression!r} divides by zero") from None
    except OverflowError:
        raise ToolError(f"the result of {expression!r} is too large to compute") from None
    except RecursionError:
        raise ToolError(f"{expression!r} is nested too deeply; simplify it") from None
    return {"expression": expression, "result": result}


def _evaluate(node: ast.expr) -> Number:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ToolError(f"{value!r} is not a number; use only {ALLOWED}")
        return _checked(value)
    if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
        return _checked(UNARY[type(node.op)](_evaluate(node.operand)))
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        return _checked(BINARY[type(node.op)](left, right))
    raise ToolError(f"{ast.unparse(node)!r} is not allowed; use only {ALLOWED}")


def _check_power(base: Number, exponent: Number) -> None:
    """Refuse a power whose result would have more than MAX_DIGITS digits, before computing it."""
    size = abs(base)
    if size == 0 or size == 1:
        return
    if abs(exponent) * abs(math.log10(size)) > MAX_DIGITS and (exponent > 0) == (size > 1):
        raise OverflowError


def _checked(value: Number | complex) -> Number:
    if isinstance(value, complex):
        raise ToolError("the result is not a real number (a negative number to a fractional power)")
    if isinstance(value, float) and not math.isfinite(value):
        raise OverflowError
    if abs(value) >= LIMIT:
        raise OverflowError
    return value
