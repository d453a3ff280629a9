"""Liveness and readiness, for a process supervisor and a load balancer.

`GET /livez` (liveness): the process answers; touches no dependency, so a database outage never gets
every web process restarted. `GET /healthz` (readiness): whether this node can serve the API.

- database reachable (one `SELECT 1`), cache reachable: 200 `{"status": "ok", ...}`
- database down: 503 `{"status": "unavailable", ...}`: take the node out
- cache down alone: 200 `{"status": "degraded", ...}`: the API keeps serving, its rate limit fails open

Both are answered by config.middleware.FrontDoorMiddleware before any other middleware, so a probe is
never redirected to HTTPS nor refused for the Host it sends.
"""

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse

CACHE_PROBE_KEY = "loyalty:healthz"


def livez(request: HttpRequest) -> JsonResponse:
    return _no_store(JsonResponse({"status": "ok"}))


def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database(), "cache": _cache()}
    if checks["database"] == "down":
        status, http_status = "unavailable", 503
    else:
        status, http_status = ("ok" if checks["cache"] == "ok" else "degraded"), 200
    return _no_store(JsonResponse({"status": status, "checks": checks}, status=http_status))


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return "down"
    return "ok"


def _cache() -> str:
    """A read of one key; a Redis cache answers it within its socket timeout (config.settings)."""
    try:
        cache.get(CACHE_PROBE_KEY)
    except Exception:  # noqa: BLE001 (whatever the backend raises, the cache cannot be used)
        return "down"
    return "ok"


def _no_store(response: JsonResponse) -> JsonResponse:
    response["Cache-Control"] = "no-store"
    return response


PROBES = {"/livez": livez, "/healthz": healthz}
