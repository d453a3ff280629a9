"""The overview and the history: read through the selectors the API and the admin use."""

from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from loyalty.ledger.selectors import account_of, balance_of, next_expiry_of
from loyalty.membership.selectors import tier_standing_of
from loyalty.program.selectors import program_get
from members.portal.entries import KIND_FILTERS, entries_of, entry_row, keyset_page
from members.portal.session import member_required

LAST_ENTRIES = 5


@member_required
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """Balances and their value, tier and progress, the next expiry, the newest entries and the card."""
    member = request.member
    program = program_get()
    account = account_of(member)
    balance = balance_of(account)
    latest = entries_of(account).order_by("-id")[:LAST_ENTRIES]
    return render(request, "portal/home.html", {
        "member": member, "balance": balance, "currency": program.currency,
        "value": Decimal(balance.available) * program.point_value, "window_days": program.tier_window_days,
        "standing": tier_standing_of(member=member, account=account, program=program, now=timezone.now()),
        "next_expiry": next_expiry_of(account, program=program),
        "rows": [entry_row(entry) for entry in latest],
    })  # fmt: skip


@member_required
@require_safe
def history(request: HttpRequest) -> HttpResponse:
    """Every entry, newest first, 25 a page (keyset: `?after=` / `?before=` an entry's public id), by kind."""
    kinds = dict(KIND_FILTERS)
    kind = request.GET.get("kind", "")
    kind = kind if kind in kinds else ""
    rows = entries_of(account_of(request.member))
    if kind:
        rows = rows.filter(kind=kind)
    page = keyset_page(rows, key="public_id", after=request.GET.get("after"), before=request.GET.get("before"))
    return render(request, "portal/history.html", {
        "member": request.member, "rows": [entry_row(entry) for entry in page.rows], "page": page,
        "kinds": KIND_FILTERS, "kind": kind,
    })  # fmt: skip
