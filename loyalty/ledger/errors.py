"""Refusals of the ledger: points, balances and entries."""

from loyalty.errors import BusinessRule, InvalidRequest, NotFound


class InsufficientPoints(BusinessRule):
    code = "insufficient_points"

    def __init__(self, *, available: int, requested: int) -> None:
        super().__init__(
            f"The member has {available} points available; {requested} were requested.",
            param="points",
            available=available,
            requested=requested,
        )


class InvalidPoints(InvalidRequest):
    code = "invalid_points"
    default_message = "Points must be a whole number."


class PointsOutOfRange(InvalidRequest):
    code = "points_out_of_range"


class InvalidKind(InvalidRequest):
    code = "invalid_kind"


class InvalidExpiresAt(InvalidRequest):
    code = "invalid_expires_at"
    default_message = "Points cannot expire before they become available."


class EntryNotFound(NotFound):
    code = "entry_not_found"
    default_message = "No such ledger entry."
