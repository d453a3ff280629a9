"""`Idempotency-Key` on POST, with Stripe's semantics.

The first request with a key runs inside one transaction that also inserts the key's row; a concurrent
duplicate blocks on the row's unique index until the first commits, then replays the stored response
(`Idempotent-Replayed: true`). The same key with a different body is 409 `idempotency_conflict`.
Responses to requests that failed validation (400) or on our side (5xx) are not stored, so the client
can fix and retry with the same key. Keys are kept for `IDEMPOTENCY_KEY_TTL_HOURS` (≥ 24 h).
"""

import functools
import re

from django.db import transaction
from rest_framework import exceptions
from rest_framework.response import Response

from config.api_errors import error_response
from loyalty.idempotency.errors import IdempotencyConflict
from loyalty.idempotency.models import IdempotentRequest
from loyalty.idempotency.services import request_hash
from members.errors import DomainError

KEY_MAX = 255
# Printable ASCII, no space at either end (a proxy could trim it and the key would change): the schema says so too.
KEY_PATTERN = rf"^[\x21-\x7e](?:[\x20-\x7e]{{0,{KEY_MAX - 2}}}[\x21-\x7e])?$"
HEADER = "Idempotency-Key"


def idempotent(post):
    """Decorate an APIView's `post` to honour `Idempotency-Key`."""

    @functools.wraps(post)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return post(view, request, *args, **kwargs)
        if not re.fullmatch(KEY_PATTERN, key):
            message = f"1 to {KEY_MAX} printable ASCII characters, no space at either end."
            raise exceptions.ValidationError({HEADER: [exceptions.ErrorDetail(message, code="invalid")]})
        fingerprint = request_hash({"path": request.path, "body": request.data})
        with transaction.atomic():
            first = IdempotentRequest(
                api_key=request.auth,
                key=key,
                method=request.method,
                path=request.path[:255],
                request_hash=fingerprint,
            )
            IdempotentRequest.objects.bulk_create([first], ignore_conflicts=True)
            stored = IdempotentRequest.objects.select_for_update().get(api_key=request.auth, key=key)
            if stored.request_hash != fingerprint:
                raise IdempotencyConflict("This Idempotency-Key was used with a different request.", param=HEADER)
            if stored.status is not None:
                return Response(stored.body, status=stored.status, headers={"Idempotent-Replayed": "true"})
            try:
                with transaction.atomic():
                    response = post(view, request, *args, **kwargs)
            except DomainError as exc:  # a refusal is an outcome worth replaying; nothing else was written
                status, body, headers = error_response(exc)
                response = Response(body, status=status, headers=headers)
            if response.status_code == 400 or response.status_code >= 500:
                transaction.set_rollback(True)
                return response
            IdempotentRequest.objects.filter(pk=stored.pk).update(status=response.status_code, body=response.data)
            return response

    return wrapper
