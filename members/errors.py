"""Domain errors. Each carries the docs/API.md error `type`, `code`, HTTP status and the offending `param`.

The base class lives here because `members` is the bottom of the dependency chain
(members <- loyalty <- rewards); `loyalty/errors.py` builds the ledger's errors on it.
"""

from typing import ClassVar


class DomainError(Exception):
    """A refusal the API reports in docs/API.md's error shape. Raising one means nothing was written."""

    type: ClassVar[str] = "invalid_request"
    status: ClassVar[int] = 400
    code: ClassVar[str] = "invalid_request"
    default_message: ClassVar[str] = "The request is invalid."

    def __init__(
        self,
        message: str | None = None,
        *,
        param: str | None = None,
        code: str | None = None,
        **details: object,
    ) -> None:
        self.message = message or self.default_message
        self.param = param
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.details = details
        super().__init__(self.message)

    def as_dict(self) -> dict:
        return {"error": {"type": self.type, "code": self.code, "message": self.message, "param": self.param}}


class InvalidRequest(DomainError):
    """400: a field is missing, malformed or out of bounds. `code` names the problem."""


class NotFound(DomainError):
    type = "not_found"
    status = 404
    code = "not_found"
    default_message = "No such object."


class Conflict(DomainError):
    type = "conflict"
    status = 409
    code = "conflict"


class BusinessRule(DomainError):
    type = "business_rule"
    status = 422
    code = "business_rule"


class MemberNotFound(NotFound):
    code = "member_not_found"
    default_message = "No such member."


class MemberExists(Conflict):
    code = "member_exists"
    default_message = "A member with this email already exists."


class MemberInactive(BusinessRule):
    code = "member_inactive"
    default_message = "The member is suspended or closed."
