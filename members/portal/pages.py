"""The overview and the history (skeleton: filled in by the pages' work)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from members.portal.session import member_required


@member_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", {"member": request.member})


@member_required
def history(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/stub.html", {"member": request.member})
