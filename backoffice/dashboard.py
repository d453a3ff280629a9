"""The admin's index as a dashboard: today's figures above the list of models (unfold's
DASHBOARD_CALLBACK fills them in; admin/dashboard.html shows them).

A figure is shown only to staff who may see its rows: program-wide figures need the view permission of
the model they count, and a shop's own staff see their shop's purchases and nothing program-wide."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from backoffice import selectors
from loyalty.shops.models import ShopStaff


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    value: str
    detail: str = ""
    link: str = ""


def _grouped(number: int) -> str:
    return f"{number:,}"


def _admin_url(name: str, query: str = "") -> str:
    """The admin page's address, or "" while no admin is registered for it."""
    try:
        return reverse(f"admin:{name}") + query
    except NoReverseMatch:
        return ""


def dashboard_figures(user, *, now) -> list[Figure]:
    """Today's figures `user` may see, in the order the dashboard shows them."""
    start, end = selectors.day_of(now)
    shop_link = ShopStaff.objects.filter(user=user).select_related("shop").first()
    if shop_link is not None:  # a shop's staff: their own shop's till, nothing program-wide
        if not user.has_perm("loyalty.view_transaction"):
            return []
        purchases = selectors.purchases_between(start=start, end=end, shop=shop_link.shop)
        return [
            Figure(
                "purchases",
                f"Purchases today at {shop_link.shop.name}",
                _grouped(purchases.count),
                f"{purchases.amount} {purchases.currency}",
            )
        ]
    figures = []
    if user.has_perm("loyalty.view_transaction"):
        purchases = selectors.purchases_between(start=start, end=end)
        figures.append(
            Figure(
                "purchases",
                "Purchases today",
                _grouped(purchases.count),
                f"{purchases.amount} {purchases.currency}",
                _admin_url("loyalty_transaction_changelist"),
            )
        )
    if user.has_perm("loyalty.view_ledgerentry"):
        points = selectors.points_between(start=start, end=end)
        entries = _admin_url("loyalty_ledgerentry_changelist")
        figures.append(
            Figure("issued", "Points issued today", _grouped(points.issued), "earned, bonuses and adjustments", entries)
        )
        figures.append(
            Figure(
                "redeemed",
                "Points redeemed today",
                _grouped(points.redeemed),
                "rewards and checkout payments, less cancellations",
                entries,
            )
        )
    if user.has_perm("loyalty.view_account"):
        liability = selectors.liability_now()
        figures.append(
            Figure(
                "liability",
                "Liability",
                f"{liability.value} {liability.currency}",
                f"{_grouped(liability.points)} points outstanding (available and pending)",
                _admin_url("loyalty_account_changelist"),
            )
        )
    if user.has_perm("loyalty.view_adjustment"):
        waiting = selectors.adjustments_waiting()
        figures.append(
            Figure(
                "adjustments",
                "Adjustments waiting",
                _grouped(waiting),
                "for a second person's approval",
                _admin_url("loyalty_adjustment_changelist", "?status__exact=pending_approval"),
            )
        )
    if user.has_perm("django_celery_beat.view_periodictask"):
        paused = selectors.schedules_paused()
        figures.append(
            Figure(
                "schedules",
                "Schedules paused",
                _grouped(paused),
                "periodic tasks switched off",
                _admin_url("django_celery_beat_periodictask_changelist", "?enabled__exact=0"),
            )
        )
    if user.has_perm("loyalty.view_jobstatus"):
        failing = selectors.jobs_failing()
        figures.append(
            Figure(
                "jobs",
                "Jobs failing",
                _grouped(failing),
                "periodic jobs whose last run failed",
                _admin_url("loyalty_jobstatus_changelist", "?failures__gt=0"),
            )
        )
    return figures


def dashboard_callback(request, context: dict) -> dict:
    """unfold's DASHBOARD_CALLBACK: today's figures for the index page."""
    now = timezone.now()
    context["figures"] = dashboard_figures(request.user, now=now)
    context["today"] = selectors.day_of(now)[0].date()
    return context
