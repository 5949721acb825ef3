from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from tracker.core.dataload import load_fixture
from tracker.core.models import Recommendation

REFERENCE_FIXTURE = settings.BASE_DIR / "fixtures" / "reference.json"
# External frameworks recommendations can be linked to (SDG targets, Global Compact on Refugees objectives): a
# starting taxonomy the secretariat extends in the admin.
FRAMEWORKS_FIXTURE = settings.BASE_DIR / "fixtures" / "frameworks.json"


class Command(BaseCommand):
    help = (
        "Load the reference data (member states, bodies, themes, meetings, recommendations, external frameworks). "
        "Idempotent."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        changed = load_fixture(REFERENCE_FIXTURE) + load_fixture(FRAMEWORKS_FIXTURE)
        for recommendation in Recommendation.objects.select_related("meeting__body"):
            recommendation.sync_implementations()
        self.stdout.write(f"Reference data loaded: {changed} rows created or changed.")
