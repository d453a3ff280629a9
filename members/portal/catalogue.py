"""The catalogue, redeeming, and the member's vouchers: the API's eligibility, its `reward_redeem`."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from loyalty.errors import DomainError
from loyalty.ledger.selectors import account_of
from loyalty.program.selectors import program_get
from members.portal.entries import keyset_page
from members.portal.redeeming import TOKEN_PATTERN, portal_redeem, redeem_token_new
from members.portal.rewards_words import catalogue_item, refusal_words, voucher_status_words
from members.portal.session import member_required
from rewards.eligibility import catalogue_eligibility
from rewards.models import Reward, Voucher
from rewards.selectors import voucher_code_normalise, voucher_status_of

VOUCHERS_PAGE = 25


def _catalogue(member, rewards: list[Reward]):
    """Each reward with its eligibility as `GET /api/v1/rewards?member=` computes it, and the reason in words."""
    eligibility = catalogue_eligibility(rewards, member=member, now=timezone.now())
    account = account_of(member)
    available = account.available if account is not None else 0
    return [catalogue_item(reward, eligibility[reward.pk], available=available) for reward in rewards], available


def _reward_or_404(code: str) -> Reward:
    """An active reward of the catalogue (what the API lists), else 404."""
    reward = Reward.objects.filter(code=code, active=True).first()
    if reward is None:
        raise Http404
    return reward


@member_required
@require_safe
def rewards(request: HttpRequest) -> HttpResponse:
    """The active rewards, in the catalogue's order (the API's), with what each needs."""
    listed = list(Reward.objects.filter(active=True).order_by("sort_order", "id"))
    items, available = _catalogue(request.member, listed)
    return render(request, "portal/rewards.html", {
        "member": request.member, "items": items, "available": available, "currency": program_get().currency,
    })  # fmt: skip


@member_required
@require_safe
def reward(request: HttpRequest, code: str) -> HttpResponse:
    """One reward: what it is and costs, and a way to redeem it (or why not now)."""
    item, available = _one(request.member, code)
    return render(request, "portal/reward.html", {
        "member": request.member, "item": item, "available": available, "currency": program_get().currency,
    })  # fmt: skip


def _one(member, code: str):
    items, available = _catalogue(member, [_reward_or_404(code)])
    return items[0], available


@member_required
@require_http_methods(["GET", "HEAD", "POST"])
def reward_redeem(request: HttpRequest, code: str) -> HttpResponse:
    """GET: the confirmation (what it costs, what is left after), carrying a one-time token. POST: redeem, once
    per token (`portal_redeem`); the voucher's page on success, the refusal in words otherwise."""
    if request.method != "POST":
        item, available = _one(request.member, code)
        return render(request, "portal/redeem_confirm.html", {
            "member": request.member, "item": item, "available": available, "currency": program_get().currency,
            "after": available - item.reward.points_cost, "token": redeem_token_new(),
        })  # fmt: skip
    token = request.POST.get("token", "")
    if not TOKEN_PATTERN.match(token):
        return _refused(request, code, _("This form has expired. Please try again."), status=400)
    reward = _reward_or_404(code)
    try:
        done = portal_redeem(member=request.member, reward=reward, token=token, now=timezone.now())
    except DomainError as refusal:
        why = refusal.code
        return _refused(request, code, lambda available: refusal_words(why, reward=reward, available=available),
                        status=409)  # fmt: skip
    voucher = Voucher.objects.filter(redemption=done.redemption).values_list("code", flat=True).first()
    if voucher is None:  # a donation: the gift is recorded, nothing to show at a till
        messages.success(request, _("Thank you: your gift of %(reward)s is on its way.") % {"reward": reward.name})
        return redirect("portal:reward", code=reward.code)
    if done.created:
        messages.success(request, _("Done: here is your voucher for %(reward)s.") % {"reward": reward.name})
    return redirect("portal:voucher", code=voucher)


def _refused(request: HttpRequest, code: str, words, *, status: int) -> HttpResponse:
    """The reward's page again, saying in words (`words`, or a function of the points available) why not."""
    item, available = _one(request.member, code)
    return render(request, "portal/reward.html", {
        "member": request.member, "item": item, "available": available, "currency": program_get().currency,
        "refusal": words(available) if callable(words) else words,
    }, status=status)  # fmt: skip


@member_required
@require_safe
def vouchers(request: HttpRequest) -> HttpResponse:
    """The member's vouchers, newest first, 25 a page (keyset by code), each with its status and code."""
    rows = Voucher.objects.filter(member=request.member).select_related("reward")
    page = keyset_page(
        rows, key="code", after=request.GET.get("after"), before=request.GET.get("before"), size=VOUCHERS_PAGE
    )
    now = timezone.now()
    listed = [(voucher, voucher_status_of(voucher, now=now)) for voucher in page.rows]
    return render(request, "portal/vouchers.html", {
        "member": request.member, "page": page, "currency": program_get().currency,
        "voucher_rows": [{"voucher": v, "status": s, "words": voucher_status_words(s)} for v, s in listed],
    })  # fmt: skip


@member_required
@require_safe
def voucher(request: HttpRequest, code: str) -> HttpResponse:
    """One of the member's vouchers with a big QR code; anyone else's is a 404."""
    mine = Voucher.objects.filter(member=request.member).select_related("reward")
    found = mine.filter(code=voucher_code_normalise(code)).first()
    if found is None:
        raise Http404
    status = voucher_status_of(found, now=timezone.now())
    return render(request, "portal/voucher.html", {
        "member": request.member, "voucher": found, "status": status, "words": voucher_status_words(status),
        "currency": program_get().currency,
    })  # fmt: skip
