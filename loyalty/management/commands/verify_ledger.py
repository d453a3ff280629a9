from django.core.management.base import BaseCommand, CommandError

from loyalty.ledger.models import Account, LedgerEntry, PointLot
from loyalty.ledger.verify import ledger_verify


class Command(BaseCommand):
    help = "Check every invariant of the points ledger; print each violation and exit non-zero on any."

    def handle(self, *args, **options) -> None:
        violations = ledger_verify()
        for violation in violations:
            self.stdout.write(str(violation))
        if violations:
            raise CommandError(f"{len(violations)} ledger violation(s) found")
        self.stdout.write(
            f"ledger ok: {Account.objects.count()} accounts, {LedgerEntry.objects.count()} entries, "
            f"{PointLot.objects.count()} lots"
        )
