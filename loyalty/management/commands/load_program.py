from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from loyalty.program.loading import ProgramFileError, program_file_read, program_load
from loyalty.tiers.jobs import recalculate_tiers


class Command(BaseCommand):
    help = (
        "Create or update, by code, the program settings and shops (and, as they are built, tiers, rewards, "
        "plans and campaigns) from a JSON or YAML file. Loading the same file twice changes nothing; a bad "
        "file is reported field by field and nothing is written."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options) -> None:
        try:
            report = program_load(program_file_read(file))
        except ProgramFileError as exc:
            for path, message in exc.problems:
                self.stderr.write(f"{path}: {message}")
            raise CommandError(f"{file}: {len(exc.problems)} problem(s); nothing was loaded") from exc
        self.stdout.write(f"loaded {file}: {report}")
        tiers = report.sections.get("tiers")
        if tiers is not None and (tiers.created or tiers.updated):
            # New or changed tiers place every member now, not at the next nightly run: members holding no
            # tier (or without an account yet) enter the base tier, and whoever qualifies higher moves up.
            self.stdout.write(recalculate_tiers(now=timezone.now()).summary())
