from django.urls import path

from privacy.api import MemberEraseApi

urlpatterns = [
    path("members/<str:member_id>/erase", MemberEraseApi.as_view(), name="member-erase"),
]
