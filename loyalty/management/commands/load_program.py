from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from loyalty.program.loading import ProgramFileError, program_file_read, program_load


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
