"""The member's plan, referral and profile, and leaving with their data (skeleton: filled in by that work)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from members.portal.session import member_required


@member_required
def subscription(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/stub.html", {"member": request.member})


@member_required
def referral(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/stub.html", {"member": request.member})


@member_required
def profile(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/stub.html", {"member": request.member})


@member_required
def profile_export(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/stub.html", {"member": request.member})


@member_required
def profile_close(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/stub.html", {"member": request.member})
