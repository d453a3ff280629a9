"""Refusals of purchases and refunds."""

from loyalty.errors import BusinessRule, InvalidRequest, NotFound


class TotalMismatch(InvalidRequest):
    code = "total_mismatch"
    default_message = "The lines do not add up to the total."


class TooManyPoints(InvalidRequest):
    code = "too_many_points"
    default_message = "The purchase would earn more points than one entry can hold."


class OccurredAtInFuture(InvalidRequest):
    code = "occurred_at_in_future"
    default_message = "occurred_at cannot be in the future."


class BackdateTooOld(BusinessRule):
    code = "backdate_too_old"


class RefundAmountOutOfRange(InvalidRequest):
    code = "amount_out_of_range"
    default_message = "The amount must be more than 0."


class RefundExceedsRemaining(BusinessRule):
    code = "refund_exceeds_remaining"


class TransactionNotFound(NotFound):
    code = "transaction_not_found"
    default_message = "No such transaction."
