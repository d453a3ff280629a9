"""`make run`'s last step before the servers start: a demo login and a fresh API key for the demo shop."""

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from loyalty.shops.models import Shop
from loyalty.shops.services import api_key_create

DEMO_SHOP = "demo-shop"
DEMO_USERNAME = "demo"
DEMO_PASSWORD_VARIABLE = "DEMO_ADMIN_PASSWORD"  # noqa: S105 (the name of a variable)
DEMO_PASSWORD_DEFAULT = "demo-loyalty"  # noqa: S105 (a published demo login, never for production)
DEMO_KEY_NAME = "demo (setup_demo)"


class Command(BaseCommand):
    help = (
        f"For the local demo only: ensure the staff superuser {DEMO_USERNAME!r} (password from "
        f"${DEMO_PASSWORD_VARIABLE}, default {DEMO_PASSWORD_DEFAULT!r}), create a fresh API key for the "
        f"shop {DEMO_SHOP!r}, and print the URLs to try. Run load_program demo/program.json first."
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
            key, raw_key = api_key_create(shop=shop, name=DEMO_KEY_NAME)

        base = f"http://127.0.0.1:{port}"
        shown_password = password if password == DEMO_PASSWORD_DEFAULT else f"${DEMO_PASSWORD_VARIABLE}"
        self.stdout.write(
            "\n".join(
                [
                    "Demo ready.",
                    f"  Admin:    {base}/admin/  (login {DEMO_USERNAME} / {shown_password})",
                    f"  API base: {base}/api/v1/",
                    f"  Health:   {base}/healthz",
                    f"  API key for {shop.code}, all scopes (a new one each run; send it as "
                    "'Authorization: Bearer <key>'):",
                    raw_key,
                ]
            )
        )

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
