"""Natural idempotency on `external_id`: the same request again returns the original, a different one
with the same external_id is refused. The unique constraint on (shop, external_id) decides races."""

import hashlib
import json
from collections.abc import Callable
from typing import TypeVar

from django.db import IntegrityError, models, transaction

from loyalty.idempotency.errors import IdempotencyConflict

T = TypeVar("T", bound=models.Model)
R = TypeVar("R")


def request_hash(payload: object) -> str:
    """SHA-256 of the canonical JSON of a validated request: same meaning, same hash."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def replay(existing: T, fingerprint: str, *, what: str) -> T:
    """The original `existing` if this is the same request again; IdempotencyConflict if not."""
    if existing.request_hash != fingerprint:
        raise IdempotencyConflict(
            f"A different {what} was already recorded with this external_id.", param="external_id"
        )
    return existing


def create_or_replay(
    create: Callable[[], R], *, replayed: Callable[[T], R], model: type[T], shop, external_id: str, fingerprint: str,
    what: str,
) -> R:  # fmt: skip
    """Run `create` (a transaction that finds same-member retries itself, under the account lock); when
    the unique constraint reports a concurrent request with this external_id, answer as a retry of it:
    `replayed(the original)`.

    Inside a request's own transaction `create` runs without a savepoint, so after the violation nothing
    can be read: the request is refused as a conflict and rolls back whole."""
    try:
        return create()
    except IntegrityError as exc:
        if "external_id" not in str(exc):
            raise
        if transaction.get_connection().needs_rollback:
            raise IdempotencyConflict(
                f"A different {what} was already recorded with this external_id.", param="external_id"
            ) from exc
        existing = model.objects.filter(shop=shop, external_id=external_id).first()
        if existing is None:
            raise
        return replayed(replay(existing, fingerprint, what=what))
