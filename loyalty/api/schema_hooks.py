"""Post-processing of the generated OpenAPI schema: what applies to every write endpoint and every list."""

from loyalty.api.base import Cursor
from loyalty.api.idempotency import KEY_MAX, KEY_PATTERN

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": KEY_MAX, "pattern": KEY_PATTERN},
    "description": "Retry-safe writes: the same key (per API key) with the same body replays the first response "
    "with `Idempotent-Replayed: true`; with another body it is 409 `idempotency_conflict`. Kept at least 24 hours. "
    f"1 to {KEY_MAX} printable ASCII characters, no space at either end (else 400 `invalid_field`).",
}
IGNORED_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "Accepted and ignored: this POST is a read and writes nothing, so it is safe to retry as is.",
}
# POSTs that only read: they take the header (clients send it on every POST) and ignore it.
READS_BY_POST = {"members_lookup_private"}
LIMIT = {
    "type": "integer",
    "minimum": 1,
    "maximum": Cursor.max_page_size,
    "default": Cursor.page_size,
}
CURSOR_DESCRIPTION = "Opaque: the `cursor` of a page's `next` link; anything else is 400 `invalid_cursor`."
REPLAYED = {
    "Idempotent-Replayed": {
        "schema": {"type": "string", "enum": ["true"]},
        "description": "Present when this response is the replay of an earlier request with the same Idempotency-Key.",
    }
}


CONFLICT = {
    "description": "`conflict`: `idempotency_conflict` (the Idempotency-Key or external_id was used with another "
    "request) or `concurrent_conflict` (a concurrent request got there first; retry to see the outcome).",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
}


BAD_KEY = {
    "description": "`invalid_request`: for example an Idempotency-Key that is empty, too long or not printable.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
}


def idempotency_headers(result: dict, generator, request, public) -> dict:
    for path in result.get("paths", {}).values():
        operation = path.get("post")
        if operation is None:
            continue
        if operation.get("operationId") in READS_BY_POST:
            operation.setdefault("parameters", []).append(IGNORED_IDEMPOTENCY_KEY)
            if "requestBody" in operation:
                operation["requestBody"]["required"] = True
            continue
        operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
        operation.setdefault("responses", {}).setdefault("409", CONFLICT)
        operation["responses"].setdefault("400", BAD_KEY)
        for status, response in operation.get("responses", {}).items():
            if str(status).startswith("2"):
                response.setdefault("headers", {}).update(REPLAYED)
    return result


def pagination_parameters(result: dict, generator, request, public) -> dict:
    """Every list's `limit` and `cursor` say what `Cursor` takes (a `limit` outside them is 400)."""
    for path in result.get("paths", {}).values():
        for parameter in path.get("get", {}).get("parameters", []):
            if parameter.get("in") != "query":
                continue
            if parameter["name"] == "limit":
                parameter["schema"] = dict(LIMIT)
                parameter["description"] = f"1 to {Cursor.max_page_size}, default {Cursor.page_size}"
            elif parameter["name"] == "cursor":
                parameter["description"] = CURSOR_DESCRIPTION
    return result


NO_NUL = "^[^\\u0000]*$"
# DRF trims with str.strip(), whose whitespace also holds \x1c-\x1f and \x85, which ECMA-262's (and Rust's) \s does
# not: they are named, so a validator of either kind reads the pattern as the server does.
NOT_BLANK_NO_NUL = "^[^\\u0000]*[^\\u0000\\s\\u001c-\\u001f\\u0085][^\\u0000]*$"


def _text_rules(schema: dict) -> None:
    """A plain string input says what DRF's CharField takes: no NUL character anywhere (400
    `null_characters_not_allowed`) and, when it may not be blank, more than whitespace (it is trimmed)."""
    if not isinstance(schema, dict):
        return
    for alternative in schema.get("oneOf", []):
        _text_rules(alternative)
    for child in schema.get("properties", {}).values():
        _text_rules(child)
    if isinstance(schema.get("items"), dict):
        _text_rules(schema["items"])
    if schema.get("type") == "string" and not {"pattern", "format", "enum"} & schema.keys():
        schema["pattern"] = NOT_BLANK_NO_NUL if schema.get("minLength", 0) >= 1 else NO_NUL


def text_inputs(result: dict, generator, request, public) -> dict:
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            _text_rules(schema)
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    _text_rules(parameter.get("schema"))
            for media in operation.get("requestBody", {}).get("content", {}).values():
                _text_rules(media.get("schema"))
    return result
