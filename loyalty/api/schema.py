"""Pieces of the OpenAPI schema the views share: the error shape and paginated pages."""

from functools import cache

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

ERROR_DESCRIPTIONS = {
    400: "`invalid_request`: malformed JSON, a missing or invalid field, or a bound exceeded; `code` names it "
    "and `param` the field.",
    401: "`authentication_error`: no, unknown or revoked API key.",
    403: "`permission_error`: the key lacks the scope.",
    404: "`not_found`: unknown id, or an object of another shop.",
    409: "`conflict`: `idempotency_conflict` (same key or external_id, different request) or `member_exists`.",
    422: "`business_rule`: valid, but the program refuses it; `code` says why (`insufficient_points`, "
    "`refund_exceeds_remaining`, `hold_not_active`, `member_inactive`, `backdate_too_old`, "
    "`unsupported_currency`, `invalid_state`, ...).",
    414: "`uri_too_long`: the URL is longer than 4096 characters.",
    431: "`headers_too_large`: more than 100 headers, or one over 8190 bytes.",
    429: "`rate_limited`: too many requests for this key; `Retry-After` says when to retry.",
    503: "`unavailable`: the database is down; nothing was written.",
}


class ErrorDetailOut(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=[
            "invalid_request",
            "authentication_error",
            "permission_error",
            "not_found",
            "conflict",
            "business_rule",
            "rate_limited",
            "api_error",
            "unavailable",
        ]  # fmt: skip
    )
    code = serializers.CharField()
    message = serializers.CharField()
    param = serializers.CharField(allow_null=True)


class ErrorOut(serializers.Serializer):
    error = ErrorDetailOut()


# Every endpoint may answer these: a bad request line or headers (`https_required`, a query parameter given twice,
# `invalid_content_length`), an over-long URL or headers, and a database that is down.
EVERY_ENDPOINT = (400, 414, 431, 503)


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Schema responses for these error statuses, and for those every endpoint may answer."""
    return {
        status: OpenApiResponse(ErrorOut, description=ERROR_DESCRIPTIONS[status])
        for status in sorted({*statuses, *EVERY_ENDPOINT})
    }


@cache
def page_of(item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """A cursor page: `{"results": [...], "next": url or null}`."""
    return type(
        f"{item.__name__.removesuffix('Out')}Page",
        (serializers.Serializer,),
        {"results": item(many=True), "next": serializers.URLField(allow_null=True)},
    )


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "loyalty.api.base.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A shop's API key (`python manage.py create_api_key SHOP_CODE`). Scopes: "
            "`members:read`, `members:write`, `transactions:write`, `points:redeem`, `subscriptions:write`; "
            "a missing scope is 403.",
        }
