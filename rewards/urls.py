from django.urls import path

from rewards.api import RedemptionCancelApi, RedemptionsApi, RewardsApi, VoucherDetailApi, VoucherUseApi

urlpatterns = [
    path("rewards", RewardsApi.as_view(), name="rewards"),
    path("redemptions", RedemptionsApi.as_view(), name="redemptions"),
    path("redemptions/<str:redemption_id>/cancel", RedemptionCancelApi.as_view(), name="redemption-cancel"),
    path("vouchers/<str:code>", VoucherDetailApi.as_view(), name="voucher"),
    path("vouchers/<str:code>/use", VoucherUseApi.as_view(), name="voucher-use"),
]
