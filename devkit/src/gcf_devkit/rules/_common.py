"""What every rule shares: how a refused value is shown, choices and YAML types."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any


def got(value: Any) -> str:
    """The end of a refusal: the value as it was given, in JSON."""
    return f" (got {json.dumps(value, ensure_ascii=False)})"


def choice_error(value: Any, key: str, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if value not in choices:
        return f"{key}: must be one of {', '.join(choices)}{got(value)}"
    return ""


def type_error(value: Any, key: str, kind: type | tuple[type, ...]) -> str:
    """A value of the wrong YAML type (bool is not a number here)."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds):
        return ""
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
    wanted = " or ".join(
        names.get(k, f"a {k.__name__}") for k in kinds if not (k is int and float in kinds)
    )
    return f"{key}: must be {wanted}{got(value)}"


def whole_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
