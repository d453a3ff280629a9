from django.urls import path

from loyalty.adjustments.api import MemberAdjustmentsApi
from loyalty.earning.api import RefundsApi, TransactionDetailApi, TransactionPreviewApi, TransactionsApi
from loyalty.holds.api import HoldCaptureApi, HoldDetailApi, HoldsApi, HoldVoidApi
from loyalty.membership.api import MemberDetailApi, MemberEnrollApi, MemberEntriesApi, MemberLookupApi
from loyalty.subscriptions.api import (
    PaymentsApi,
    PlansApi,
    SubscriptionCancelApi,
    SubscriptionDetailApi,
    SubscriptionsApi,
)

urlpatterns = [
    path("members", MemberEnrollApi.as_view(), name="members"),
    path("members/lookup", MemberLookupApi.as_view(), name="member-lookup"),
    path("members/<str:member_id>", MemberDetailApi.as_view(), name="member"),
    path("members/<str:member_id>/entries", MemberEntriesApi.as_view(), name="member-entries"),
    path("members/<str:member_id>/adjustments", MemberAdjustmentsApi.as_view(), name="member-adjustments"),
    path("transactions", TransactionsApi.as_view(), name="transactions"),
    path("transactions/preview", TransactionPreviewApi.as_view(), name="transaction-preview"),
    path("transactions/<str:transaction_id>", TransactionDetailApi.as_view(), name="transaction"),
    path("transactions/<str:transaction_id>/refunds", RefundsApi.as_view(), name="transaction-refunds"),
    path("holds", HoldsApi.as_view(), name="holds"),
    path("holds/<str:hold_id>", HoldDetailApi.as_view(), name="hold"),
    path("holds/<str:hold_id>/capture", HoldCaptureApi.as_view(), name="hold-capture"),
    path("holds/<str:hold_id>/void", HoldVoidApi.as_view(), name="hold-void"),
    path("plans", PlansApi.as_view(), name="plans"),
    path("subscriptions", SubscriptionsApi.as_view(), name="subscriptions"),
    path("subscriptions/<str:subscription_id>", SubscriptionDetailApi.as_view(), name="subscription"),
    path("subscriptions/<str:subscription_id>/payments", PaymentsApi.as_view(), name="subscription-payments"),
    path("subscriptions/<str:subscription_id>/cancel", SubscriptionCancelApi.as_view(), name="subscription-cancel"),
]
