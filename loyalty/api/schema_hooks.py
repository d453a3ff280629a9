"""Post-processing of the generated OpenAPI schema: what applies to every write endpoint."""

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": "Retry-safe writes: the same key (per API key) with the same body replays the first response "
    "with `Idempotent-Replayed: true`; with another body it is 409 `idempotency_conflict`. Kept at least 24 hours.",
}
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
        operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
        operation.setdefault("responses", {}).setdefault("409", CONFLICT)
        operation["responses"].setdefault("400", BAD_KEY)
        for status, response in operation.get("responses", {}).items():
            if str(status).startswith("2"):
                response.setdefault("headers", {}).update(REPLAYED)
    return result
