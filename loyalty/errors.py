"""The error bases every concern builds on (members/errors.py's, re-exported), and the refusals several
concerns share. Each concern's own errors live in its `errors.py` (`loyalty/<concern>/errors.py`)."""

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
]


class InvalidState(BusinessRule):
    code = "invalid_state"
    default_message = "The object is not in a state that allows this."


class UnsupportedCurrency(BusinessRule):
    code = "unsupported_currency"
    default_message = "The currency is not the program's currency."
