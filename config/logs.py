"""One logging setup for the web, the Celery worker and beat (settings.LOGGING uses these).

- `request_id`: the current API call's id (set by config.middleware.RequestIdMiddleware), in a context
  variable so that every line logged while the request runs carries it; `RequestIdFilter` puts it on each
  record (`-` outside a request).
- `JsonFormatter`: `LOG_FORMAT=json` writes one JSON object per line.
"""

import contextvars
import datetime as dt
import json
import logging
import re
import uuid

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# A client's own X-Request-ID is kept when it is 1..128 printable ASCII characters without spaces.
SANE_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")


def request_id_from(header: str | None) -> str:
    """The client's id if it is sane, otherwise a new one (uuid4 hex)."""
    if header and SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds `record.request_id`: the id of the request being served, or `-`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get() or "-"
        return True


# The attributes every LogRecord has; anything else on a record came from `extra=` and is added to the JSON.
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id, the traceback if any,
    and any scalar `extra=` fields (other objects, such as a request, are left out: they may hold personal data)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": None if getattr(record, "request_id", "-") == "-" else record.request_id,
        }
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and name not in line and isinstance(value, str | int | float | bool):
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)
