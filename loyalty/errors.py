"""The ledger's and the program's domain errors, on the base classes of members/errors.py."""

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
    "EntryNotFound",
    "InsufficientPoints",
    "InvalidRequest",
    "InvalidState",
    "MemberExists",
    "MemberInactive",
    "MemberNotFound",
    "NotFound",
    "ShopNotFound",
    "UnsupportedCurrency",
]


class InsufficientPoints(BusinessRule):
    code = "insufficient_points"

    def __init__(self, *, available: int, requested: int) -> None:
        super().__init__(
            f"The member has {available} points available; {requested} were requested.",
            param="points",
            available=available,
            requested=requested,
        )


class InvalidState(BusinessRule):
    code = "invalid_state"
    default_message = "The object is not in a state that allows this."


class UnsupportedCurrency(BusinessRule):
    code = "unsupported_currency"
    default_message = "The currency is not the program's currency."


class EntryNotFound(NotFound):
    code = "entry_not_found"
    default_message = "No such ledger entry."


class ShopNotFound(NotFound):
    code = "shop_not_found"
    default_message = "No such shop."
