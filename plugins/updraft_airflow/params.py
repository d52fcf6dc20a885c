"""Params: DAG params and `dag_run.conf` values, coerced in one place.

A value reaches an operator as its Param declared it, as text rendered by Jinja
("None", "true", "x86_64, i386"), or as whatever a hand-written `conf` holds. Each
function takes the param's name so that a bad value fails in one line naming it
(ParamError, permanent: a retry would read the same conf).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from updraft.errors import UpdraftError

_NOTHING = ("", "None", "null")
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off", *(word.lower() for word in _NOTHING))


class ParamError(UpdraftError):
    """A param or conf value that cannot mean what its param expects."""


def optional(value: object, name: str = "value") -> str | None:
    """Text, or None when not given (None, "", "None" and "null" all mean "not given")."""
    if value is None:
        return None
    if isinstance(value, bool | dict | list | tuple | set):
        raise ParamError(f"param {name}: expected text, got {type(value).__name__} {value!r}")
    text = str(value).strip()
    return None if text in _NOTHING else text


def required(value: object, name: str = "value") -> str:
    """Text that must be given (a release, a package, a build id)."""
    text = optional(value, name)
    if text is None:
        raise ParamError(f"param {name}: missing (give it in the run's conf)")
    return text


def flag(value: object, name: str = "value") -> bool:
    """A boolean, or one given as text: true/1/yes/on, false/0/no/off, empty."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ParamError(f"param {name}: {str(value)[:40]!r} is not a boolean "
                     "(true/false, 1/0, yes/no)")


def text_list(value: object, name: str = "value") -> list[str]:
    """A list of words, or one given as text ("x86_64, i386" or "x86_64 i386")."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in value.replace(",", " ").split() if part not in _NOTHING]
    if isinstance(value, dict) or not isinstance(value, Iterable):
        raise ParamError(f"param {name}: expected a list, got {type(value).__name__}")
    return [str(part).strip() for part in value if str(part).strip()]


def json_object(value: object, name: str = "value") -> dict[str, Any]:
    """A mapping, or one given as JSON text; empty when not given."""
    if isinstance(value, str):
        if value.strip() in _NOTHING:
            return {}
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ParamError(f"param {name}: not JSON ({exc})") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ParamError(f"param {name}: expected an object, got {type(value).__name__}")
    return value
