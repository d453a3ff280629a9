"""Refusals of a retry that is not the same request."""

from loyalty.errors import Conflict


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
