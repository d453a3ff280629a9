"""Shops' API keys: create, revoke, authenticate.

A key reads `lk_<prefix>_<secret>`. The prefix (8 characters) is stored and shown so people can tell
keys apart; the secret (40 characters, about 238 bits from `secrets`) is never stored: only the SHA-256
of the whole key is, so a key is shown once, when it is created. A fast hash is enough here because the
secret is random and long, not a password a person chose.
"""

import datetime as dt
import hashlib
import hmac
import secrets
import string
import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from loyalty.shops.errors import InvalidKeyName, InvalidScope
from loyalty.shops.models import ApiKey, Shop

KEY_SCHEME = "lk"
PREFIX_ALPHABET = string.ascii_lowercase + string.digits
PREFIX_LENGTH = 8
SECRET_ALPHABET = string.ascii_letters + string.digits
SECRET_LENGTH = 40  # 40 × log2(62) ≈ 238 bits
NAME_MAX = 100
CREATE_ATTEMPTS = 5
# A request stamps last_used_at only when the stored value is older than this, so busy keys do not
# cost a write per request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def key_hash(raw_key: str) -> str:
    """The SHA-256 hex digest stored for a key."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


def scopes_validate(scopes: list[str] | None) -> list[str]:
    """The requested scopes in ApiKey.SCOPES order; when none are given, all but the opt-in ones
    (ApiKey.DEFAULT_SCOPES).

    Raises InvalidScope naming the first unknown scope."""
    if not scopes:
        return list(ApiKey.DEFAULT_SCOPES)
    if isinstance(scopes, str):
        raise InvalidScope(param="scopes")
    for scope in scopes:
        if scope not in ApiKey.SCOPES:
            raise InvalidScope(f"Unknown scope {scope!r}; scopes are {', '.join(ApiKey.SCOPES)}.", param="scopes")
    return [scope for scope in ApiKey.SCOPES if scope in scopes]


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def api_key_create(*, shop: Shop, scopes: list[str] | None = None, name: str = "") -> tuple[ApiKey, str]:
    """Create a key for `shop` and return it with the raw key, which is never available again.

    Raises InvalidScope, InvalidKeyName; writes nothing then."""
    scopes = scopes_validate(scopes)
    name = (name or "").strip()
    if len(name) > NAME_MAX:
        raise InvalidKeyName(f"A key's name is at most {NAME_MAX} characters.", param="name")
    for attempt in range(CREATE_ATTEMPTS):
        prefix = _random(PREFIX_ALPHABET, PREFIX_LENGTH)
        raw_key = f"{KEY_SCHEME}_{prefix}_{_random(SECRET_ALPHABET, SECRET_LENGTH)}"
        try:
            # A savepoint of its own, so a prefix collision can be retried inside a caller's transaction.
            with transaction.atomic():
                key = ApiKey.objects.create(
                    shop=shop, name=name, prefix=prefix, key_hash=key_hash(raw_key), scopes=scopes
                )
        except IntegrityError:
            if attempt == CREATE_ATTEMPTS - 1:
                raise
            continue
        return key, raw_key
    raise AssertionError("unreachable")  # pragma: no cover


# Keys verified in this process, by hash, for API_KEY_CACHE_SECONDS: a checkout sends many requests a
# second with one key, and looking it up each time was a sixth of a purchase's CPU. A revocation here
# takes effect at once; in other processes within that many seconds.
_verified: dict[str, ApiKey] = {}


def api_keys_cache_clear() -> None:
    _verified.clear()


def api_key_revoke(*, key: ApiKey, now: dt.datetime) -> ApiKey:
    """Revoke `key` from `now` on. Revoking a revoked key changes nothing (its first revocation stands)."""
    api_keys_cache_clear()
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now)
    key.refresh_from_db(fields=["revoked_at"])
    return key


def _parse(raw_key: object) -> str | None:
    """The prefix of a well-formed key, else None."""
    if not isinstance(raw_key, str):
        return None
    parts = raw_key.split("_")
    if len(parts) != 3:
        return None
    scheme, prefix, secret = parts
    if (
        scheme != KEY_SCHEME
        or len(prefix) != PREFIX_LENGTH
        or not set(prefix) <= set(PREFIX_ALPHABET)
        or len(secret) != SECRET_LENGTH
        or not set(secret) <= set(SECRET_ALPHABET)
    ):
        return None
    return prefix


def api_key_authenticate(*, raw_key: str, now: dt.datetime) -> ApiKey | None:
    """The active key `raw_key` is, with its shop loaded; None for a malformed, unknown or revoked key
    or a key of an inactive shop.

    Stamps `last_used_at` when it is more than a minute old: one conditional UPDATE, run after the
    caller's transaction commits so it never holds the key's row during a request."""
    prefix = _parse(raw_key)
    if prefix is None:
        return None
    digest = key_hash(raw_key)
    key = _verified.get(digest)
    if key is None or time.monotonic() - key._verified_at > settings.API_KEY_CACHE_SECONDS:
        key = next(iter(ApiKey.objects.select_related("shop").filter(prefix=prefix)[:1]), None)
        if key is None or not hmac.compare_digest(key.key_hash, digest):
            return None
        key._verified_at = time.monotonic()
        _verified[digest] = key
    if key.revoked_at is not None or not key.shop.active:
        return None
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
        # After the request's transaction commits (at once outside one), so the key's row is never held
        # locked while a request runs: concurrent requests with one key must not queue behind the stamp.
        # Robust: a stamp that fails (the database went away after the commit) is logged, and the request
        # that already committed is not turned into an error.
        transaction.on_commit(lambda: ApiKey.objects.filter(stale, pk=key.pk).update(last_used_at=now), robust=True)
        key.last_used_at = now
    return key
