"""The erasure endpoint (docs/API.md, Members): `POST /api/v1/members/{id}/erase`."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from loyalty.api.base import ShopApi
from loyalty.api.idempotency import idempotent
from loyalty.api.schema import errors
from loyalty.membership.api import MemberOut, member_out
from members.selectors import member_get
from privacy.services import member_erase


class MemberEraseApi(ShopApi):
    required_scope = "members:write"

    @extend_schema(
        operation_id="members_erase", request=None, responses={200: MemberOut, **errors(401, 403, 404, 429)},
        summary="Erase a member's personal data (GDPR Art. 17)",
        description="The member becomes `closed`; name, phone and birth date are emptied, the email becomes an "
        "unroutable `erased-<id>@erased.invalid` and the card number `erased-<n>` (only a hash of the old one is "
        "kept); open holds are released, unused vouchers cancelled (their points return to the account), a live "
        "subscription canceled now. Ledger amounts stay. Answers the erased member; erasing an erased member "
        "changes nothing and answers the same. Not reversible.",
    )  # fmt: skip
    @idempotent
    def post(self, request, member_id: str):
        member = member_get(public_id=member_id)
        member = member_erase(member=member, actor=f"shop:{request.shop.code}", now=timezone.now())
        return Response(member_out(member))
