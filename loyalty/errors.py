"""The error bases every concern builds on (members/errors.py's, re-exported), the refusals several
concerns share, and where a validation error points. Each concern's own errors live in its `errors.py`
(`loyalty/<concern>/errors.py`)."""

from members.errors import (
    BusinessRule,
    Conflict,
    DomainError,
    InvalidRequest,
    MemberExists,
    MemberInactive,
    MemberNotFound,
    NotFound,
)

__all__ = [
    "BusinessRule",
    "Conflict",
    "DomainError",
    "InvalidRequest",
    "InvalidState",
    "MemberExists",
    "MemberInactive",
    "MemberNotFound",
    "NotFound",
    "UnsupportedCurrency",
    "error_paths",
]


class InvalidState(BusinessRule):
    code = "invalid_state"
    default_message = "The object is not in a state that allows this."


class UnsupportedCurrency(BusinessRule):
    code = "unsupported_currency"
    default_message = "The currency is not the program's currency."


# DRF's and Django's keys for the errors of an object as a whole, not of one of its fields
NON_FIELD_KEYS = frozenset({"non_field_errors", "__all__"})


def error_paths(detail: object, prefix: str = "") -> list[tuple[str, str]]:
    """Flatten DRF's nested validation errors into (path, error) pairs, in order. Paths read
    `lines[0].quantity` (after `prefix`); an error of an object as a whole takes the object's path. Errors
    given as lists of messages keep DRF's ErrorDetail, with its `code`. The API answers the first pair; the
    program file's loader reports them all."""
    if isinstance(detail, dict):
        return [pair for key, value in detail.items() for pair in error_paths(value, _child_path(prefix, key))]
    if isinstance(detail, list) and all(isinstance(item, str) for item in detail):
        return [(prefix, item) for item in detail]
    if isinstance(detail, list):
        return [pair for index, item in enumerate(detail) for pair in error_paths(item, f"{prefix}[{index}]")]
    return [(prefix, str(detail))] if detail else []


def _child_path(prefix: str, key: object) -> str:
    if key in NON_FIELD_KEYS:
        return prefix
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else str(key)
