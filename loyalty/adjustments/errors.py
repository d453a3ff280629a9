"""Refusals of manual point adjustments."""

from loyalty.errors import BusinessRule, InvalidRequest, NotFound


class AdjustmentNotPending(BusinessRule):
    code = "adjustment_not_pending"
    default_message = "The adjustment is no longer waiting for approval."


class SelfApproval(BusinessRule):
    code = "self_approval"
    default_message = "An adjustment must be approved by someone other than who asked for it."


class AdjustmentNotFound(NotFound):
    code = "adjustment_not_found"
    default_message = "No such adjustment."


class InvalidReason(InvalidRequest):
    code = "invalid_reason"


class InvalidNote(InvalidRequest):
    code = "invalid_note"
