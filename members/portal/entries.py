"""A member's ledger entries as the portal shows them: newest first, a page at a time by keyset (the cost of a
page does not grow with the history), each said in words."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from loyalty.ledger.models import Account, LedgerEntry

Kind = LedgerEntry.Kind
PAGE_SIZE = 25

# What the history's filter offers, in the words a member uses (one ledger kind each).
KIND_FILTERS = [
    (Kind.EARN, gettext_lazy("Purchases")),
    (Kind.CLAWBACK, gettext_lazy("Refunds")),
    (Kind.REDEEM, gettext_lazy("Rewards")),
    (Kind.REVERSAL, gettext_lazy("Cancelled rewards")),
    (Kind.BONUS, gettext_lazy("Bonus points")),
    (Kind.ADJUST, gettext_lazy("Adjustments")),
    (Kind.EXPIRE, gettext_lazy("Expired points")),
    (Kind.ACTIVATE, gettext_lazy("Pending points released")),
    (Kind.HOLD, gettext_lazy("Points reserved")),
    (Kind.CAPTURE, gettext_lazy("Paid with points")),
    (Kind.RELEASE, gettext_lazy("Reserved points released")),
]


# The columns a row shows or its words name: a few of the hundred the joined models hold, which the ORM would
# otherwise compile and fetch for every page.
ROW_FIELDS = (
    "public_id", "kind", "points", "pending_points", "held_points", "balance_after", "created_at", "shop__name",
    "redemption__reward__name", "reverses__kind", "reverses__redemption__reward__name",
)  # fmt: skip


def entries_of(account: Account | None) -> QuerySet[LedgerEntry]:
    """The member's entries with everything their words name, in the same query."""
    if account is None:
        return LedgerEntry.objects.none()
    return (
        LedgerEntry.objects.filter(account=account)
        .select_related("shop", "redemption__reward", "reverses__redemption__reward")
        .only(*ROW_FIELDS)
    )


def entry_words(entry: LedgerEntry) -> str:
    """What the entry was, as a member says it: "Purchase at Shop A", "Reward: Free coffee", "Expired"."""
    shop = entry.shop.name if entry.shop_id else None
    if entry.kind == Kind.EARN:
        return _("Purchase at %(shop)s") % {"shop": shop} if shop else _("Points earned")
    if entry.kind == Kind.CLAWBACK:
        return _("Refund at %(shop)s") % {"shop": shop} if shop else _("Refund")
    if entry.kind == Kind.REDEEM:
        reward = _reward_of(entry)
        return _("Reward: %(reward)s") % {"reward": reward} if reward else _("Reward")
    if entry.kind == Kind.REVERSAL:
        reversed_entry = entry.reverses
        if reversed_entry is not None and reversed_entry.kind == Kind.REDEEM and _reward_of(reversed_entry):
            return _("Reward cancelled: %(reward)s") % {"reward": _reward_of(reversed_entry)}
        if reversed_entry is not None and reversed_entry.kind == Kind.ADJUST:
            return _("Adjustment cancelled")
        return _("Correction")
    if entry.kind == Kind.HOLD:
        return _("Points reserved at %(shop)s") % {"shop": shop} if shop else _("Points reserved")
    if entry.kind == Kind.CAPTURE:
        return _("Paid with points at %(shop)s") % {"shop": shop} if shop else _("Paid with points")
    words = {
        Kind.BONUS: _("Bonus points"),
        Kind.ADJUST: _("Adjustment"),
        Kind.EXPIRE: pgettext("ledger entry", "Expired"),
        Kind.RELEASE: _("Points released"),
        Kind.ACTIVATE: _("Pending points now available"),
    }
    return words.get(entry.kind, entry.kind)


def _reward_of(entry: LedgerEntry) -> str | None:
    redemption = getattr(entry, "redemption", None)  # the reverse one-to-one is absent, not None, without a row
    return redemption.reward.name if redemption is not None else None


@dataclass(frozen=True)
class EntryRow:
    """One line of the history: the entry, its words and the points it moved as the member sees them
    (available points; a pending credit or a capture of held points shows that amount instead)."""

    entry: LedgerEntry
    words: str
    points: int
    which: str  # "", "pending" or "held": which balance `points` moved

    @property
    def kind(self) -> str:
        return self.entry.kind


def entry_row(entry: LedgerEntry) -> EntryRow:
    if entry.points:
        return EntryRow(entry, entry_words(entry), entry.points, "")
    if entry.pending_points:
        return EntryRow(entry, entry_words(entry), entry.pending_points, "pending")
    return EntryRow(entry, entry_words(entry), entry.held_points, "held")


@dataclass(frozen=True)
class Page:
    """One page of rows, newest first, and the cursors of the pages around it (None: there is none)."""

    rows: list
    newer: str | None
    older: str | None


def keyset_page(rows: QuerySet, *, key: str, after: str | None, before: str | None, size: int = PAGE_SIZE) -> Page:
    """A page of `rows` (one member's, newest first by id) after the row whose `key` is `after` (older ones) or
    before the one whose `key` is `before` (newer ones), or the newest page. The cursor is the row's public
    `key`, looked up among `rows` themselves, so another member's is a 404. Two queries at most, each walking
    the (owner, -id) index from the cursor: no OFFSET."""
    cursor = after or before
    if cursor:
        cursor_id = rows.filter(**{key: cursor}).values_list("id", flat=True).first()
        if cursor_id is None:
            raise Http404
    if before:
        found = list(rows.filter(id__gt=cursor_id).order_by("id")[: size + 1])
        more_newer = len(found) > size
        page = list(reversed(found[:size]))
        newer = getattr(page[0], key) if more_newer and page else None
        return Page(page, newer, getattr(page[-1], key) if page else None)
    found = list((rows.filter(id__lt=cursor_id) if after else rows).order_by("-id")[: size + 1])
    page = found[:size]
    older = getattr(page[-1], key) if len(found) > size else None
    newer = getattr(page[0], key) if after and page else None
    return Page(page, newer, older)
