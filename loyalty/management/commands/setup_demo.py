"""`make run`'s last step before the servers start: a demo login and a fresh API key for the demo shop.

Only a key's hash is stored, so an earlier run's key cannot be shown again: each run revokes the demo keys
earlier runs made and prints a new one, as its last line, `KEY=lk_...`, ready to paste into a shell."""

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from loyalty.shops.models import ApiKey, Shop
from loyalty.shops.services import api_key_create, api_key_revoke

DEMO_SHOP = "demo-shop"
DEMO_USERNAME = "demo"
DEMO_PASSWORD_VARIABLE = "DEMO_ADMIN_PASSWORD"  # noqa: S105 (the name of a variable)
DEMO_PASSWORD_DEFAULT = "demo-loyalty"  # noqa: S105 (a published demo login, never for production)
DEMO_KEY_NAME = "demo (setup_demo)"


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

        base = f"http://127.0.0.1:{port}"
        shown_password = password if password == DEMO_PASSWORD_DEFAULT else f"${DEMO_PASSWORD_VARIABLE}"
        self.stdout.write(
            "\n".join(
                [
                    "Demo ready.",
                    f"  Start:    {base}/",
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
