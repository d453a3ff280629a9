"""WSGI entry point: `config.wsgi:application`."""

import os

import django
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.http.request import parse_header_parameters

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class Request(WSGIRequest):
    """Django's request, except that a declared charset Python cannot decode text with (rot13, base64,
    zlib, undefined, ...) is not taken as the request's encoding. Django would decode the query string with
    it while building the request, before any middleware or error handler runs, and fail. The API refuses
    any charset but UTF-8 (config.middleware.FrontDoorMiddleware); other pages read such a request as
    UTF-8."""

    def _set_content_type_params(self, meta) -> None:
        self.content_type, self.content_params = parse_header_parameters(meta.get("CONTENT_TYPE", ""))
        charset = self.content_params.get("charset")
        if charset is not None and _decodes_text(charset):
            self.encoding = charset


def _decodes_text(charset: str) -> bool:
    try:
        "a=1".encode(charset).decode(charset)
    except (LookupError, UnicodeError, ValueError):
        return False
    return True


class Handler(WSGIHandler):
    request_class = Request


django.setup(set_prefix=False)
application = Handler()
