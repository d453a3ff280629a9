"""The ledger's invariants, each checked by one set-based query.

`ledger_verify()` returns every violation it finds; an empty list means the books are exact.
"""

from dataclasses import dataclass

from django.db.models import F, OuterRef, Q, Subquery, Sum, Value, Window
from django.db.models.functions import Coalesce, Greatest

from loyalty.ledger.models import Account, LedgerEntry, LotAllocation, PointLot

Kind = LedgerEntry.Kind


@dataclass(frozen=True)
class Violation:
    check: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.subject}: {self.detail}"


def _sum(queryset, field: str, *, per: str):
    """Σ `field` over `queryset` (filtered on OuterRef by `per`), 0 when it has no rows."""
    return Coalesce(Subquery(queryset.order_by().values(per).annotate(total=Sum(field)).values("total")), Value(0))


def _account_balances() -> list[Violation]:
    entries = LedgerEntry.objects.filter(account=OuterRef("pk"))
    rows = (
        Account.objects.annotate(
            sum_points=_sum(entries, "points", per="account"),
            sum_pending=_sum(entries, "pending_points", per="account"),
            sum_held=_sum(entries, "held_points", per="account"),
        )
        .filter(~Q(available=F("sum_points")) | ~Q(pending=F("sum_pending")) | ~Q(held=F("sum_held")))
        .values_list("pk", "available", "sum_points", "pending", "sum_pending", "held", "sum_held")
    )
    return [
        Violation(
            "balances",
            f"account {pk}",
            f"available {a} vs Σ entries {sa}, pending {p} vs {sp}, held {h} vs {sh}",
        )
        for pk, a, sa, p, sp, h, sh in rows
    ]


def _running_balance() -> list[Violation]:
    rows = (
        LedgerEntry.objects.annotate(
            running=Window(Sum("points"), partition_by=[F("account_id")], order_by=F("id").asc())
        )
        .annotate(gap=F("running") - F("balance_after"))
        .exclude(gap=0)
        .values_list("pk", "account_id", "balance_after", "running")
    )
    return [
        Violation("balance_after", f"entry {pk} of account {acc}", f"balance_after {b}, running sum {r}")
        for pk, acc, b, r in rows
    ]


def _lot_bounds() -> list[Violation]:
    rows = PointLot.objects.filter(Q(remaining__lt=0) | Q(remaining__gt=F("amount"))).values_list(
        "pk", "amount", "remaining"
    )
    return [Violation("lot_bounds", f"lot {pk}", f"remaining {r} outside 0..{a}") for pk, a, r in rows]


def _lot_allocations() -> list[Violation]:
    rows = (
        PointLot.objects.annotate(allocated=_sum(LotAllocation.objects.filter(lot=OuterRef("pk")), "points", per="lot"))
        .annotate(gap=F("amount") - F("remaining") - F("allocated"))
        .exclude(gap=0)
        .values_list("pk", "amount", "remaining", "allocated")
    )
    return [
        Violation("lot_allocations", f"lot {pk}", f"amount {a} − remaining {r} ≠ Σ allocations {s}")
        for pk, a, r, s in rows
    ]


def _lots_match_balances() -> list[Violation]:
    lots = PointLot.objects.filter(account=OuterRef("pk"))
    rows = (
        Account.objects.annotate(
            in_lots=_sum(lots.filter(pending=False), "remaining", per="account"),
            pending_in_lots=_sum(lots.filter(pending=True), "remaining", per="account"),
            expected=Greatest(F("available"), Value(0)),
        )
        .filter(~Q(in_lots=F("expected")) | ~Q(pending_in_lots=F("pending")))
        .values_list("pk", "available", "in_lots", "pending", "pending_in_lots")
    )
    return [
        Violation(
            "lots_vs_balances",
            f"account {pk}",
            f"available {a} but lots hold {lots_}; pending {p} but pending lots hold {pl}",
        )
        for pk, a, lots_, p, pl in rows
    ]


def _debits_drawn_exactly() -> list[Violation]:
    """Every debit but a claw-back (which may overdraw) took exactly its points from lots."""
    rows = (
        LedgerEntry.objects.filter(points__lt=0)
        .exclude(kind=Kind.CLAWBACK)
        .annotate(drawn=_sum(LotAllocation.objects.filter(entry=OuterRef("pk")), "points", per="entry"))
        .annotate(gap=F("drawn") + F("points"))
        .exclude(gap=0)
        .values_list("pk", "kind", "points", "drawn")
    )
    return [
        Violation("debit_draws", f"entry {pk} ({kind})", f"points {p} but drew {d} from lots")
        for pk, kind, p, d in rows
    ]


def _negative_balances() -> list[Violation]:
    """Only a claw-back may take a balance below zero or further down."""
    rows = (
        LedgerEntry.objects.filter(balance_after__lt=0, points__lt=0)
        .exclude(kind=Kind.CLAWBACK)
        .values_list("pk", "kind", "balance_after")
    )
    return [Violation("negative_balance", f"entry {pk} ({k})", f"balance_after {b}") for pk, k, b in rows]


def _reversals() -> list[Violation]:
    rows = (
        LedgerEntry.objects.filter(reverses__isnull=False)
        .filter(~Q(points=-F("reverses__points")) | ~Q(account_id=F("reverses__account_id")))
        .values_list("pk", "points", "reverses_id", "reverses__points")
    )
    return [
        Violation("reversals", f"entry {pk}", f"points {p} does not undo entry {r} ({rp})") for pk, p, r, rp in rows
    ]


def _allocation_accounts() -> list[Violation]:
    rows = LotAllocation.objects.exclude(lot__account_id=F("entry__account_id")).values_list("pk", "entry_id", "lot_id")
    return [
        Violation("allocation_account", f"allocation {pk}", f"entry {e} and lot {lot} belong to different accounts")
        for pk, e, lot in rows
    ]


CHECKS = (
    _account_balances,
    _running_balance,
    _lot_bounds,
    _lot_allocations,
    _lots_match_balances,
    _debits_drawn_exactly,
    _negative_balances,
    _reversals,
    _allocation_accounts,
)


def ledger_verify() -> list[Violation]:
    """Every violation of the ledger's invariants; empty when the books are exact."""
    return [violation for check in CHECKS for violation in check()]
