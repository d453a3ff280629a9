"""gunicorn's settings for the web process: `gunicorn -c config/gunicorn.py` (command-line flags win).

Environment: GUNICORN_BIND (default 127.0.0.1:8000), WEB_CONCURRENCY (workers, default 2 per core + 1),
GUNICORN_TIMEOUT (seconds a request may take before its worker is restarted, default 30).

Request limits: the API refuses a URL over 4096 characters (414), more than 100 headers or a header over
8190 bytes (431) in its own error shape (config.middleware). gunicorn's limits are set above those, so
Django answers first; only a request beyond gunicorn's limits below gets gunicorn's own answer, a short
HTML page (with the pinned gunicorn: 414 "URI Too Long", 431 "Request Header Fields Too Large"), before
Django sees it.
"""

import os

from gunicorn.glogging import Logger


class AccessLogger(Logger):
    """gunicorn's logger, with the path escaped in the access line: gunicorn writes PATH_INFO as it decoded it, so
    a client sending `%0A` in a URL could end the line there and forge the next one (log injection). Control
    characters, backslashes and non-ASCII become Python escapes (`\\n`, `\\x1b`, `\\xc3`), as in Django's own
    log lines."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = atoms.get("U")
        if isinstance(path, str):
            atoms["U"] = path.encode("unicode_escape").decode("ascii")  # gunicorn escapes the quotes itself
        return atoms


wsgi_app = "config.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY", str(2 * (os.cpu_count() or 1) + 1)))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = timeout

limit_request_line = 8190  # gunicorn's maximum; the API's own limit is 4096 for path and query
limit_request_fields = 200  # the API's own: 100
limit_request_field_size = 16380  # the API's own: 8190

# One line per request on stdout: peer, method, path without the query string (it can hold an email or a
# phone: GET /api/v1/members/lookup), status, bytes, milliseconds, the response's X-Request-ID, and the client
# as the proxy names it (X-Forwarded-For; the peer is the proxy itself).
logger_class = AccessLogger
accesslog = "-"
errorlog = "-"
access_log_format = (
    '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s forwarded_for=%({x-forwarded-for}i)s'
)

# gunicorn's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl), which several
# gunicorns of one user would take from each other, and a service user may have no writable home. Nothing here
# uses it (gunicornc); signals (HUP, TERM, TTIN/TTOU) still work.
control_socket_disable = True
