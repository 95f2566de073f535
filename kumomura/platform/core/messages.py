"""Validation messages in Japanese, for the staff who read them on a page, in the CLI or
in an API's 422: pydantic's own are English (``Input should be a valid date``).

Rules written by the project raise ``ValueError`` with a Japanese message already; those
pass through with pydantic's ``Value error, `` prefix removed.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from kumomura.platform.core.errors import FieldProblem

_KINDS = {
    "date": "日付を正しく入力してください (例: 2026-04-01)",
    "datetime": "日時を正しく入力してください",
    "int": "整数で入力してください",
    "float": "数値で入力してください",
    "decimal": "数値で入力してください",
    "bool": "はい・いいえで指定してください",
    "string": "文字で入力してください",
    "list": "一覧で指定してください",
    "dict": "項目の組で指定してください",
    "model": "項目の組で指定してください",
}


def japanese(error: ErrorDetails) -> str:
    """One error as staff should read it."""
    kind, ctx = error["type"], error.get("ctx", {})
    if kind in ("value_error", "assertion_error"):
        return str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "missing" or (error.get("input") is None and kind.endswith("_type")):
        return "入力してください"
    return _bounded(kind, ctx) or _kind(kind) or str(error["msg"])


def _bounded(kind: str, ctx: dict[str, Any]) -> str | None:
    match kind:
        case "string_too_short":
            n = ctx.get("min_length", 1)
            return "入力してください" if n == 1 else f"{n}文字以上で入力してください"
        case "string_too_long":
            return f"{ctx.get('max_length')}文字以内で入力してください"
        case "too_short":
            return f"{ctx.get('min_length')}件以上を指定してください"
        case "too_long":
            return f"{ctx.get('max_length')}件までにしてください"
        case "string_pattern_mismatch":
            return "形式が正しくありません"
        case "greater_than":
            return f"{ctx.get('gt')} より大きい値にしてください"
        case "greater_than_equal":
            return f"{ctx.get('ge')} 以上にしてください"
        case "less_than":
            return f"{ctx.get('lt')} より小さい値にしてください"
        case "less_than_equal":
            return f"{ctx.get('le')} 以下にしてください"
        case "literal_error" | "enum":
            expected = str(ctx.get("expected", "")).replace(" or ", "、").replace(", ", "、")
            return f"{expected} のいずれかを指定してください"
        case "extra_forbidden":
            return "この項目は受け付けていません"
        case "json_invalid":
            return "JSON として読めません"
    return None


def _kind(kind: str) -> str | None:
    """Type errors (``date_parsing``, ``int_type``, ...) by the type they expected."""
    return _KINDS.get(kind.split("_")[0])


def problems(exc: ValidationError, *prefix: str) -> list[FieldProblem]:
    """The errors as problems naming their field (dotted, after ``prefix``)."""
    return [FieldProblem(".".join([*prefix, *map(str, e["loc"])]), japanese(e))
            for e in exc.errors()]
