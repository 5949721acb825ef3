from django.db import migrations
from django.utils import timezone


def mark_seen(apps, schema_editor):
    """Focal points designated before this release are not signing in for the first time: the handover summary is
    for those designated from now on (it is still reachable from their home page)."""
    designation = apps.get_model("tracker", "FocalPointDesignation")
    designation.objects.filter(summary_seen_at__isnull=True).update(summary_seen_at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [("tracker", "0015_national_validation_and_clarifications")]

    operations = [migrations.RunPython(mark_seen, migrations.RunPython.noop)]
