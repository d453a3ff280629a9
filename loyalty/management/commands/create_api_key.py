from django.core.management.base import BaseCommand, CommandError, CommandParser

from loyalty.errors import DomainError
from loyalty.shops.models import ApiKey, Shop
from loyalty.shops.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a shop. The key is printed once, as the last line of output; only its hash is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("shop_code", metavar="SHOP_CODE", help="the shop's code, as in load_program's file")
        parser.add_argument(
            "--scopes",
            help=f"comma-separated scopes of {', '.join(ApiKey.SCOPES)} "
            f"(default: all but {', '.join(ApiKey.OPT_IN_SCOPES)})",
        )
        parser.add_argument("--name", default="", help="a label for people, e.g. 'till 3' or 'billing'")

    def handle(self, *args, shop_code: str, scopes: str | None, name: str, **options) -> None:
        shop = Shop.objects.filter(code=shop_code).first()
        if shop is None:
            known = ", ".join(Shop.objects.values_list("code", flat=True)[:20]) or "none yet"
            raise CommandError(f"No shop with code {shop_code!r} (shops: {known}). Shops are created by load_program.")
        scope_list = None
        if scopes is not None:
            scope_list = [scope.strip() for scope in scopes.split(",") if scope.strip()]
            if not scope_list:
                raise CommandError(f"--scopes names no scope; scopes are {', '.join(ApiKey.SCOPES)}.")
        try:
            key, raw_key = api_key_create(shop=shop, scopes=scope_list, name=name)
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"API key {key.prefix} for shop {shop.code} ({shop.name}), scopes: {', '.join(key.scopes)}")
        self.stdout.write("Store it now: only its hash is kept, so it cannot be shown again.")
        self.stdout.write(raw_key)
