from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from tracker.core.demo import ACCOUNTS, DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = "Load demo accounts, focal points, review cycles and reports (for demonstration only). Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("load_reference_data", verbosity=0)
        created = load_demo()
        self.stdout.write("Demo data loaded." if created else "Demo data already present: nothing changed.")
        names = ", ".join(spec.username for spec in ACCOUNTS)
        self.stdout.write(f"Demo accounts: {names} (password: {DEMO_PASSWORD})")
