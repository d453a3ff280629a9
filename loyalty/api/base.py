"""What every shop-facing endpoint shares: bearer API keys, scopes, per-key throttling, a JSON parser
that never makes floats, cursor pagination, and the `ShopApi` base view."""

from django.utils import timezone
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from loyalty.api.parsers import ExactJSONParser
from loyalty.db import read_transaction, request_transaction
from loyalty.shops.models import ApiKey
from loyalty.shops.services import api_key_authenticate


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


class ApiKeyThrottle(SimpleRateThrottle):
    """Requests per API key; the rate is `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api_key"]`."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiKey):
            return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


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

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound as exc:
            raise serializers.ValidationError(
                {"cursor": [serializers.ErrorDetail("Invalid cursor.", code="invalid")]}
            ) from exc

    def get_paginated_response(self, data):
        return Response({"results": data, "next": self.get_next_link()})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {"results": schema, "next": {"type": "string", "format": "uri", "nullable": True}},
        }


class ShopApi(APIView):
    """Base of the shop-facing API: authenticated by API key, scoped, throttled per key."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasScope]
    throttle_classes = [ApiKeyThrottle]
    parser_classes = [ExactJSONParser]
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

    def dispatch(self, request, *args, **kwargs):
        """A write request is one transaction: if anything fails after a service wrote, even rendering,
        the exception handler marks it for rollback and nothing stays written. A read inside a caller's
        transaction gets a savepoint, so a statement the database refused cannot abort that transaction."""
        reading = request.method in {"GET", "HEAD", "OPTIONS"}
        with read_transaction() if reading else request_transaction():
            return super().dispatch(request, *args, **kwargs)

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
