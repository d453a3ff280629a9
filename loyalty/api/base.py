"""What every shop-facing endpoint shares: bearer API keys, scopes, per-key throttling, a JSON parser
that never makes floats, cursor pagination, and the `ShopApi` base view."""

import logging
import math
import threading
import time
from base64 import b64decode

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.utils import timezone
from django_filters import rest_framework as filters
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from config.api_errors import error_response
from loyalty.api.parsers import ExactJSONParser
from loyalty.db import read_transaction, request_transaction
from loyalty.shops.models import ApiKey
from loyalty.shops.services import api_key_authenticate

INVALID_CURSOR = "This cursor was not given by this API; start again without it."


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer <key>`; sets request.auth to the ApiKey and request.shop to its shop."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send `Authorization: Bearer <key>`.")
        try:
            raw_key = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.") from exc
        key = api_key_authenticate(raw_key=raw_key, now=timezone.now())
        if key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        request._request.shop = key.shop
        return (None, key)

    def authenticate_header(self, request) -> str:
        return "Bearer"


class HasScope(BasePermission):
    """The key must carry the view's `required_scope`, if it names one."""

    def has_permission(self, request, view) -> bool:
        if not isinstance(request.auth, ApiKey):
            raise exceptions.NotAuthenticated()
        scope = view.required_scope
        if scope and scope not in request.auth.scopes:
            raise exceptions.PermissionDenied(f"This API key lacks the `{scope}` scope.")
        return True


# How long the rate limit lets requests through without asking the cache again, once the cache has failed.
RATE_LIMIT_RETRY_SECONDS = 30
# One atomic step on Redis: count the request and, for the window's first request, start the window (the key's
# expiry), so no count is lost between parallel requests and no counter is ever left without an expiry.
# Returns [count, milliseconds left in the window].
_REDIS_WINDOW_COUNT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 or redis.call('PTTL', KEYS[1]) < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return {count, redis.call('PTTL', KEYS[1])}
"""
throttle_logger = logging.getLogger("loyalty.api.throttle")


class _CounterOutage:
    """Per process and cache: since when its counters have been unreachable, and when to ask them again."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.since: float | None = None
        self.retry_at = 0.0

    def asking(self, now: float) -> bool:
        return self.since is None or now >= self.retry_at

    def failed(self, exc: Exception, now: float, cache_name: str) -> None:
        with self.lock:
            first = self.since is None
            if first:
                self.since = now
            self.retry_at = now + RATE_LIMIT_RETRY_SECONDS
        if first:
            throttle_logger.error(
                "rate limit OFF: the cache %s holding the counters is unreachable (%s: %s); requests go through "
                "unlimited, the cache is asked again every %d s",
                cache_name, type(exc).__name__, exc, RATE_LIMIT_RETRY_SECONDS,
            )  # fmt: skip

    def recovered(self, now: float, cache_name: str) -> None:
        if self.since is None:
            return
        with self.lock:
            since, self.since = self.since, None
        if since is not None:
            throttle_logger.warning("rate limit on again: the cache %s answers after %.0f s", cache_name, now - since)


_outages: dict[str, _CounterOutage] = {}
_outages_lock = threading.Lock()


def _outage_of(cache_name: str) -> _CounterOutage:
    outage = _outages.get(cache_name)
    if outage is None:
        with _outages_lock:
            outage = _outages.setdefault(cache_name, _CounterOutage())
    return outage


def throttle_outages_clear() -> None:
    """Forget every cache outage this process has seen (tests)."""
    with _outages_lock:
        _outages.clear()


class ApiKeyThrottle(SimpleRateThrottle):
    """Requests per API key in fixed windows: at most N per window of the rate's period; the rate is
    `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]` (`api_key`: API_RATE_LIMIT).

    The count is atomic, so parallel requests in any number of processes sharing the cache never get more than N
    through a window. On Redis it is one round trip per request (a Lua script: INCR, and PEXPIRE on the window's
    first request, so a key's window starts with its first request); on other caches whose `incr` is atomic
    (locmem within a process, memcached) an `incr` of a counter per clock window, `add`ed by the window's first
    request. Retry-After is the time left in the window.

    If the cache cannot be reached the limit fails open: requests are served, the outage is logged once at ERROR,
    and the cache is asked again only after RATE_LIMIT_RETRY_SECONDS (its recovery is logged at WARNING)."""

    scope = "api_key"
    cache_alias = "default"
    clock = staticmethod(time.monotonic)  # when to ask a failed cache again

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiKey):
            return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        cache = caches[self.cache_alias]
        cache_name = f"{self.cache_alias!r} ({type(cache).__name__})"
        outage = _outage_of(cache_name)
        now = self.clock()
        if not outage.asking(now):
            return True
        try:
            count, self.seconds_left = self.count(cache, key)
        except Exception as exc:  # noqa: BLE001 - whatever the cache raises, the API keeps serving
            outage.failed(exc, now, cache_name)
            return True
        outage.recovered(now, cache_name)
        return count <= self.num_requests

    def count(self, cache: BaseCache, key: str) -> tuple[int, float]:
        """(requests in the current window including this one, seconds left in the window)."""
        if isinstance(cache, RedisCache):
            key = cache.make_and_validate_key(key)
            client = cache._cache.get_client(key, write=True)  # Django's own Redis client, shared pool
            count, ms_left = _redis_window_count(client)(keys=[key], args=[self.duration * 1000], client=client)
            return int(count), max(int(ms_left), 0) / 1000
        now = self.timer()
        window = int(now // self.duration)
        key = f"{key}:{window}"
        try:
            count = cache.incr(key)
        except ValueError:  # the window's first request: `add` lets exactly one of several parallel ones start it
            count = 1 if cache.add(key, 1, timeout=self.duration + 1) else cache.incr(key)
        return count, (window + 1) * self.duration - now

    def wait(self) -> float:
        return math.ceil(self.seconds_left)


_redis_script = None


def _redis_window_count(client):
    global _redis_script  # noqa: PLW0603 - registered once per process, called with each request's client
    if _redis_script is None:
        _redis_script = client.register_script(_REDIS_WINDOW_COUNT)
    return _redis_script


class Cursor(CursorPagination):
    """`{"results": [...], "next": url or null}`, newest first, `limit` up to 200."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise serializers.ValidationError(
                {"limit": [serializers.ErrorDetail(f"limit must be 1 to {self.max_page_size}.", code="max_value")]}
            )
        return int(raw)

    def paginate_queryset(self, queryset, request, view=None):
        # The field a cursor's position is compared with: the first of the ordering.
        first = self.get_ordering(request, queryset, view)[0]
        self.position_field = queryset.model._meta.get_field(first.lstrip("-"))
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        """DRF's cursor, refused as 400 `invalid_cursor` when it is not one this API gave: undecodable, or
        a position its field cannot hold (DRF would filter with it, and the query fail)."""
        encoded = request.query_params.get(self.cursor_query_param)
        try:
            if encoded is not None:
                b64decode(encoded.encode("ascii"), validate=True)  # DRF drops what is not base64 and reads on
            cursor = super().decode_cursor(request)
            if cursor is not None and cursor.position is not None:
                self.position_field.clean(cursor.position, None)
        except (exceptions.NotFound, DjangoValidationError, ValueError) as exc:
            raise serializers.ValidationError(
                {"cursor": [serializers.ErrorDetail(INVALID_CURSOR, code="invalid_cursor")]}
            ) from exc
        return cursor

    def get_paginated_response(self, data):
        return Response({"results": data, "next": self.get_next_link()})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {"results": schema, "next": {"type": "string", "format": "uri", "nullable": True}},
        }


class _NoFormatOverride:
    """DRF's settings, except that no query parameter picks the renderer."""

    URL_FORMAT_OVERRIDE = None

    def __getattr__(self, name: str):
        return getattr(api_settings, name)


class JsonOnlyNegotiation(DefaultContentNegotiation):
    """The API renders JSON only, chosen by `Accept` (406 when it excludes JSON). DRF would also read `?format=`
    and answer 404 for a format naming no renderer; here `format` is an unknown parameter, ignored like the rest."""

    settings = _NoFormatOverride()


class ShopApi(APIView):
    """Base of the shop-facing API: authenticated by API key, scoped, throttled per key."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasScope]
    throttle_classes = [ApiKeyThrottle]
    parser_classes = [ExactJSONParser]
    content_negotiation_class = JsonOnlyNegotiation
    required_scope: str | None = None

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        # PostgreSQL cannot compare text with NUL bytes; such an id names nothing and such a filter is bad.
        if any("\x00" in str(value) for value in kwargs.values()):
            raise exceptions.NotFound()
        for name, values in request.query_params.lists():
            if any("\x00" in value for value in values):
                raise serializers.ValidationError(
                    {name: [serializers.ErrorDetail("NUL bytes are not allowed.", "invalid")]}
                )
            if len(values) > 1:  # no parameter takes a list; which of several would count is a guess
                raise serializers.ValidationError({name: [serializers.ErrorDetail(f"Give `{name}` once.", "invalid")]})

    def dispatch(self, request, *args, **kwargs):
        """A write request is one transaction: if anything fails after a service wrote, even rendering,
        the exception handler marks it for rollback and nothing stays written. A read inside a caller's
        transaction gets a savepoint, so a statement the database refused cannot abort that transaction.

        Opening and committing the transaction happen outside DRF's exception handling, so a database
        that cannot be reached there is answered here: 503, like any other request meeting it."""
        reading = request.method in {"GET", "HEAD", "OPTIONS"}
        opened = False
        try:
            with read_transaction() if reading else request_transaction():
                opened = True
                return super().dispatch(request, *args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            status, body, headers = error_response(exc)
            if opened and not reading:  # the COMMIT failed: the server may have committed before the break
                body["error"]["message"] = (
                    "The database connection broke while committing; the request may or may not have been "
                    "written. Retry it with the same Idempotency-Key or external_id."
                )
            return JsonResponse(body, status=status, headers=headers)

    @staticmethod
    def validated(serializer_class: type[serializers.Serializer], request, data=None) -> dict:
        serializer = serializer_class(data=request.data if data is None else data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def paginate(self, queryset, request, serializer_class, **context) -> Response:
        paginator = Cursor()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True, context=context).data)


def shop_object(queryset, request, public_id: str, missing: Exception):
    """The calling shop's object with this public id; another shop's is as unknown as a missing one."""
    found = queryset.filter(public_id=public_id, shop=request.shop).first()
    if found is None:
        raise missing
    return found


def filtered(filterset_class, request, queryset):
    filterset = filterset_class(request.query_params, queryset=queryset)
    for name, values in request.query_params.lists():
        # django-filter takes an empty value as no filter; for a filter of a type (a choice, a timestamp) the
        # schema says "" is not a value, so it is refused like any other value that is not one (a text filter's
        # "" stays "no filter").
        if "" in values and name in filterset.filters and not isinstance(filterset.filters[name], filters.CharFilter):
            raise serializers.ValidationError(
                {name: [serializers.ErrorDetail("Give a value or leave it out.", "invalid")]}
            )
    if not filterset.is_valid():
        raise serializers.ValidationError(filterset.errors)
    return filterset.qs
