from django.core.management.base import BaseCommand, CommandError

from members.portal.translations import PORTAL_DIR, messages_compile, messages_make


class Command(BaseCommand):
    help = (
        "Refresh the portal's .po files from its templates and code (new strings untranslated, gone ones dropped; "
        "needs GNU gettext) and compile them to the committed .mo files with polib. --compile-only skips the refresh."
    )

    def add_arguments(self, parser):
        parser.add_argument("--compile-only", action="store_true", help="only compile the .po files (no gettext)")

    def handle(self, *args, compile_only: bool = False, **options):
        if not compile_only:
            try:
                messages_make()
            except RuntimeError as exc:
                raise CommandError(str(exc)) from exc
        for path in messages_compile():
            self.stdout.write(f"compiled {path.relative_to(PORTAL_DIR.parent.parent)}")
