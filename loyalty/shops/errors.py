"""Refusals about shops and their API keys."""

from loyalty.errors import InvalidRequest, NotFound


class InvalidScope(InvalidRequest):
    code = "invalid_scope"
    default_message = "Scopes must be a list of scope names."


class InvalidKeyName(InvalidRequest):
    code = "invalid_name"


class ShopNotFound(NotFound):
    code = "shop_not_found"
    default_message = "No such shop."
