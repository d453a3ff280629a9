"""The catalogue, redeeming, and the member's vouchers (skeleton: filled in by the rewards pages' work)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from members.portal.session import member_required


@member_required
def rewards(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/stub.html", {"member": request.member})


@member_required
def reward(request: HttpRequest, code: str) -> HttpResponse:
    return render(request, "portal/stub.html", {"member": request.member})


@member_required
def vouchers(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/stub.html", {"member": request.member})


@member_required
def voucher(request: HttpRequest, code: str) -> HttpResponse:
    return render(request, "portal/stub.html", {"member": request.member})
