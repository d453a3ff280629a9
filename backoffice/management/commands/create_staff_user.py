import secrets
import sys

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from backoffice.roles import ROLE_NAMES
from backoffice.services import StaffUserRefused, staff_user_create


class Command(BaseCommand):
    help = (
        "Create a member of staff who can log in to the back office, with one role: manager (program manager), "
        "support (support agent) or shop (shop staff, with --shop). A generated password is printed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", metavar="USERNAME")
        parser.add_argument("--role", required=True, choices=list(ROLE_NAMES))
        parser.add_argument("--shop", metavar="CODE", help="the shop a shop-role user works for (shop role only)")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from the first line of standard input"
        )

    def handle(self, *args, username: str, role: str, shop: str | None, email: str, password_stdin: bool, **options):
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("--password-stdin read an empty password.")
            try:
                validate_password(password)
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from error
        else:
            password = secrets.token_urlsafe(18)
        try:
            user = staff_user_create(username=username, role=role, password=password, shop_code=shop, email=email)
        except StaffUserRefused as error:
            raise CommandError(str(error)) from error
        where = f" at shop {shop}" if shop else ""
        self.stdout.write(f"Staff user {user.username} created: {ROLE_NAMES[role]}{where}.")
        if not password_stdin:
            self.stdout.write("Password (shown once, not stored in clear: pass it on now):")
            self.stdout.write(password)
