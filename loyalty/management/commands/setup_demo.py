"""`make run`'s last step before the servers start: a demo login and a fresh API key for the demo shop.

Only a key's hash is stored, so an earlier run's key cannot be shown again: each run revokes the demo keys
earlier runs made and prints a new one, as its last line, `KEY=lk_...`, ready to paste into a shell."""

import datetime as dt
import os
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from loyalty.earning.services import transaction_create
from loyalty.idempotency.services import request_hash
from loyalty.membership.services import member_enroll_with_account
from loyalty.program.selectors import program_get
from loyalty.shops.models import ApiKey, Shop
from loyalty.shops.services import api_key_create, api_key_revoke
from members.models import Member

DEMO_SHOP = "demo-shop"
DEMO_USERNAME = "demo"
DEMO_PASSWORD_VARIABLE = "DEMO_ADMIN_PASSWORD"  # noqa: S105 (the name of a variable)
DEMO_PASSWORD_DEFAULT = "demo-loyalty"  # noqa: S105 (a published demo login, never for production)
DEMO_KEY_NAME = "demo (setup_demo)"
DEMO_MEMBER_EMAIL = "grace@example.com"
# The demo member's purchases at the demo shop (external ids stay the same, so a second run adds nothing): enough
# points for the cheapest reward of demo/program.json, so a newcomer can redeem in the portal straight away.
DEMO_PURCHASES = [("demo-a", "42.50", 20), ("demo-b", "289.90", 9), ("demo-c", "18.20", 2)]


class Command(BaseCommand):
    help = (
        f"For the local demo only: ensure the staff superuser {DEMO_USERNAME!r} (password from "
        f"${DEMO_PASSWORD_VARIABLE}, default {DEMO_PASSWORD_DEFAULT!r}), revoke the demo keys of earlier runs, "
        f"create a fresh API key for the shop {DEMO_SHOP!r}, and print the URLs to try and, last, KEY=<the key>. "
        "Run load_program demo/program.json first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000, help="the port runserver listens on (8000)")

    def handle(self, *args, port: int, **options) -> None:
        # Read here rather than in settings, as Django's own createsuperuser reads
        # DJANGO_SUPERUSER_PASSWORD: it is a demo credential, not configuration of the service.
        password = os.environ.get(DEMO_PASSWORD_VARIABLE) or DEMO_PASSWORD_DEFAULT
        shop = Shop.objects.filter(code=DEMO_SHOP).first()
        if shop is None:
            raise CommandError(
                f"The demo shop {DEMO_SHOP!r} does not exist yet: run "
                "`python manage.py load_program demo/program.json` first."
            )
        with transaction.atomic():
            self._ensure_admin(password)
            revoked = self._revoke_earlier_demo_keys(shop)
            key, raw_key = api_key_create(shop=shop, scopes=list(ApiKey.SCOPES), name=DEMO_KEY_NAME)
        self._ensure_member(shop)

        base = f"http://127.0.0.1:{port}"
        mails = (
            f"the sign-in mail is written to {settings.EMAIL_FILE_PATH}/" if settings.EMAIL_FILE_PATH
            else "the sign-in mail is printed by the worker"
        )  # fmt: skip
        shown_password = password if password == DEMO_PASSWORD_DEFAULT else f"${DEMO_PASSWORD_VARIABLE}"
        if settings.PUBLIC_BASE_URL != base:
            mails += (
                f"; its link points at PUBLIC_BASE_URL {settings.PUBLIC_BASE_URL}, not this server: set "
                f"PUBLIC_BASE_URL={base}"
            )
        self.stdout.write(
            "\n".join(
                [
                    "Demo ready.",
                    f"  Portal:   {base}/portal/  (sign in as the demo member {DEMO_MEMBER_EMAIL}; {mails})",
                    f"  Admin:    {base}/admin/  (login {DEMO_USERNAME} / {shown_password})",
                    f"  API docs: {base}/api/docs/",
                    f"  API base: {base}/api/v1/",
                    f"  Health:   {base}/healthz",
                    f"  API key for {shop.code}, all scopes, sent as 'Authorization: Bearer $KEY' (a new one each "
                    f"run; {revoked} earlier demo key(s) revoked). Paste this line into your shell:",
                    f"KEY={raw_key}",
                ]
            )
        )

    def _ensure_member(self, shop: Shop) -> None:
        """The demo member, with a few purchases behind them so the portal has something to show."""
        member = Member.objects.filter(email=DEMO_MEMBER_EMAIL).first()
        if member is None:
            member = member_enroll_with_account(email=DEMO_MEMBER_EMAIL, first_name="Grace", last_name="Hopper")
        now = timezone.now()
        for external_id, total, days_ago in DEMO_PURCHASES:
            body = {"member": member.public_id, "external_id": external_id, "total": total}
            transaction_create(
                shop=shop, member=member, external_id=external_id, currency=program_get().currency,
                total=Decimal(total), occurred_at=now - dt.timedelta(days=days_ago), lines=None,
                fingerprint=request_hash(body), now=now,
            )  # fmt: skip

    def _revoke_earlier_demo_keys(self, shop: Shop) -> int:
        """Revokes the active keys earlier runs made (by their name); keys staff made are left alone."""
        now = timezone.now()
        earlier = list(ApiKey.objects.filter(shop=shop, name=DEMO_KEY_NAME, revoked_at__isnull=True))
        for key in earlier:
            api_key_revoke(key=key, now=now)
        return len(earlier)

    def _ensure_admin(self, password: str) -> None:
        user_model = get_user_model()
        user = user_model.objects.filter(username=DEMO_USERNAME).first()
        if user is None:
            user_model.objects.create_superuser(username=DEMO_USERNAME, email="demo@example.com", password=password)
            return
        changed = not (user.is_staff and user.is_superuser and user.is_active)
        user.is_staff = user.is_superuser = user.is_active = True
        if not user.check_password(password):
            user.set_password(password)
            changed = True
        if changed:
            user.save()
