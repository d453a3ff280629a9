import io
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

from config import logs
from config.api_errors import error_body, is_api, json_404, json_500
from config.health import PROBES

# Under /api/, Django answers these in the error shape; config/gunicorn.py sets gunicorn's own limits above
# them, so only a request beyond both meets gunicorn's own HTML answer.
API_MAX_URL_LENGTH = 4096  # path and query string, percent-encoded
API_MAX_HEADERS = 100
API_MAX_HEADER_SIZE = 8190  # name and value of one header field
UTF8 = {"utf-8", "utf8"}


class FrontDoorMiddleware:
    """What is decided before the rest of Django looks at a request; first in MIDDLEWARE.

    - `/livez` and `/healthz` (config.health) are answered here, so a load balancer's probe is never
      redirected to HTTPS nor refused for the Host header it sends.
    - Under /api/: plain HTTP while HTTPS is enforced (SECURE_SSL_REDIRECT) is 400 `https_required`,
      never a redirect, which clients follow with a GET and so lose the body. A charset other than UTF-8
      is 415 `unsupported_charset`. A URL or headers over the limits above are 414 / 431; a Content-Length
      that is not a number is 400.
    - Under /api/, a response Django rendered itself (its 404 and 500 pages, under DEBUG its debug pages,
      a 400 for a Host outside ALLOWED_HOSTS) is replaced by the API's error shape.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is not None:
            return probe(request)
        if not is_api(request):
            return self.get_response(request)
        refusal = _refusal(request)
        if refusal is not None:
            return refusal
        return _in_error_shape(request, self.get_response(request))


def _refusal(request: HttpRequest) -> JsonResponse | None:
    if settings.SECURE_SSL_REDIRECT and not request.is_secure():
        message = "The API is served over HTTPS only: send the request again with https:// instead of http://."
        return JsonResponse(error_body("invalid_request", "https_required", message), status=400)
    charset = request.content_params.get("charset")
    if charset is not None and charset.lower() not in UTF8:
        message = "JSON is read as UTF-8 only: send `Content-Type: application/json` or `; charset=utf-8`."
        return JsonResponse(error_body("invalid_request", "unsupported_charset", message), status=415)
    length = request.META.get("CONTENT_LENGTH")  # Django would fail reading the body (gunicorn refuses it first)
    if length and not (length.isascii() and length.isdigit()):
        message = "Content-Length must be a number of bytes."
        return JsonResponse(error_body("invalid_request", "invalid_content_length", message), status=400)
    if len(request.path) + len(request.META.get("QUERY_STRING", "")) > API_MAX_URL_LENGTH:
        message = f"The URL is longer than {API_MAX_URL_LENGTH} characters."
        return JsonResponse(error_body("invalid_request", "uri_too_long", message), status=414)
    headers = [(name, value) for name, value in request.META.items() if name.startswith("HTTP_")]
    if len(headers) > API_MAX_HEADERS or any(len(name) + len(value) > API_MAX_HEADER_SIZE for name, value in headers):
        message = f"At most {API_MAX_HEADERS} headers of at most {API_MAX_HEADER_SIZE} bytes each."
        return JsonResponse(error_body("invalid_request", "headers_too_large", message), status=431)
    return None


def _in_error_shape(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    status = response.status_code
    if status < 400 or response.get("Content-Type", "").startswith("application/json"):
        return response
    if status == 404:
        return json_404(request)
    if status >= 500:
        return json_500(request)
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Client Error"
    type_ = "permission_error" if status == 403 else "invalid_request"
    shaped = JsonResponse(error_body(type_, phrase.lower().replace(" ", "_"), f"{phrase}."), status=status)
    if "Allow" in response:
        shaped["Allow"] = response["Allow"]
    return shaped


class ApiBodyLimitMiddleware:
    """docs/API.md: a body over 256 KiB is a 400 in the error shape, whether or not it says its length.

    A chunked body states no Content-Length, and Django's WSGI request would read it as empty; here it
    is read (up to the limit) and handed on with its length, so it is neither lost nor unbounded."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api(request) and request.method in {"POST", "PUT", "PATCH"}:
            try:
                if _chunked(request):
                    _read_chunked(request)
                request.body  # noqa: B018 (reading it enforces DATA_UPLOAD_MAX_MEMORY_SIZE)
            except RequestDataTooBig:
                message = "The body is larger than 256 KiB."
                return JsonResponse(error_body("invalid_request", "body_too_large", message), status=400)
        return self.get_response(request)


def _chunked(request: HttpRequest) -> bool:
    return "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower() and not request.META.get(
        "CONTENT_LENGTH"
    )


def _read_chunked(request: HttpRequest) -> None:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = request.META["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        raise RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
    request._body = body
    request._stream = io.BytesIO(body)
    request.META["CONTENT_LENGTH"] = str(len(body))


class RequestIdMiddleware:
    """Every response carries `X-Request-ID`: the client's own if it sent a sane one (1..128 printable ASCII
    characters, no spaces), otherwise a new uuid4 hex. Every line logged while the request is served carries it
    (config.logs.RequestIdFilter); it stays set after the response so that Django's own request log line
    ("Not Found: ...") has it too, and the next request replaces it. Put it first in MIDDLEWARE."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = logs.request_id_from(request.headers.get("X-Request-ID"))
        logs.request_id.set(request.request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response
