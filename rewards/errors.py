"""Refusals of the catalogue, redemptions and vouchers (docs/API.md's business codes)."""

from loyalty.errors import BusinessRule, NotFound


class OutOfStock(BusinessRule):
    code = "out_of_stock"
    default_message = "This reward is out of stock."


class MemberLimitReached(BusinessRule):
    code = "member_limit_reached"
    default_message = "The member has redeemed this reward as often as allowed."


class TierRequired(BusinessRule):
    code = "tier_required"
    default_message = "The member's tier is too low for this reward."


class SubscriptionRequired(BusinessRule):
    code = "subscription_required"
    default_message = "This reward is for members with a paid plan."


class RewardUnavailable(BusinessRule):
    code = "reward_unavailable"
    default_message = "This reward is not available now."


class VoucherAlreadyUsed(BusinessRule):
    code = "voucher_already_used"
    default_message = "This voucher has already been used."


class VoucherExpired(BusinessRule):
    code = "voucher_expired"
    default_message = "This voucher has expired."


class VoucherCancelled(BusinessRule):
    code = "voucher_cancelled"
    default_message = "This voucher was cancelled."


class RewardNotFound(NotFound):
    code = "reward_not_found"
    default_message = "No such reward."


class VoucherNotFound(NotFound):
    code = "voucher_not_found"
    default_message = "No such voucher."


class RedemptionNotFound(NotFound):
    code = "redemption_not_found"
    default_message = "No such redemption."


class StockChanged(Exception):
    """A stock set refused because what is left is no longer what the form showed (a redemption or a
    cancellation came in between). Staff's form only: no endpoint sets stock, so no API code."""

    def __init__(self, *, expected: int | None, actual: int | None) -> None:
        self.expected, self.actual = expected, actual
        shown = "unlimited" if expected is None else expected
        now = "unlimited" if actual is None else actual
        super().__init__(f"The stock changed from {shown} to {now} while you were editing; nothing was saved.")
