"""Domain errors. Each carries the docs/API.md error `type`, `code`, HTTP status and the offending `param`.

The base class lives here because `members` is the bottom of the dependency chain
(members <- loyalty <- rewards); `loyalty/errors.py` builds the ledger's errors on it.
"""

from typing import ClassVar


class DomainError(Exception):
    """A refusal the API reports in docs/API.md's error shape. Raising one means nothing was written.

    Each refusal is a subclass naming its `code`, in the errors.py of the app or concern that raises it."""

    type: ClassVar[str] = "invalid_request"
    status: ClassVar[int] = 400
    code: ClassVar[str] = "invalid_request"
    default_message: ClassVar[str] = "The request is invalid."

    def __init__(
        self,
        message: str | None = None,
        *,
        param: str | None = None,
        **details: object,
    ) -> None:
        self.message = message or self.default_message
        self.param = param
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


class InvalidEmail(InvalidRequest):
    code = "invalid_email"
    default_message = "An email address is required."


class InvalidPhone(InvalidRequest):
    code = "invalid_phone"
    default_message = "A phone number has 6 to 15 digits and may start with +."


class InvalidCardNumber(InvalidRequest):
    code = "invalid_card_number"
    default_message = "A card number has 8 to 19 digits."


class InvalidLocale(InvalidRequest):
    code = "invalid_locale"


class InvalidName(InvalidRequest):
    code = "invalid_name"


class InvalidBirthDate(InvalidRequest):
    code = "invalid_birth_date"
    default_message = "The birth date must lie between 1900-01-01 and today."


class InvalidReferralCode(InvalidRequest):
    code = "invalid_referral_code"
    default_message = "No member has this referral code."


class InvalidStatus(InvalidRequest):
    code = "invalid_status"


class InvalidLookup(InvalidRequest):
    code = "invalid_lookup"
    default_message = "Give exactly one of card_number, email or phone."


class PhoneExists(Conflict):
    code = "phone_exists"
    default_message = "A member with this phone number already exists."


class CardNumberExists(Conflict):
    code = "card_number_exists"
    default_message = "This card number is already in use."
