from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

from config.api_errors import error_body, is_api


class ApiBodyLimitMiddleware:
    """API.md: a body over 256 KiB is a 400 in the error shape, whether or not it says its length."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api(request) and request.method in {"POST", "PUT", "PATCH"}:
            try:
                request.body  # noqa: B018 (reading it enforces DATA_UPLOAD_MAX_MEMORY_SIZE)
            except RequestDataTooBig:
                message = "The body is larger than 256 KiB."
                return JsonResponse(error_body("invalid_request", "body_too_large", message), status=400)
        return self.get_response(request)
