# The personal drafts become one shared draft per item (data only; the schema is 0012, the constraint 0014).

from django.db import migrations, models


def share_drafts(apps, schema_editor):
    """Personal drafts become the state's shared draft of each item. Every report's "last changed by" is its
    author. Where several people had a draft of the same item, the most recently changed one is kept as the
    shared draft; each other one is copied into it (its text appended under a note naming its author, date,
    status and progress; its evidence files moved to it) and then archived as it was, so the secretariat still
    finds it in the admin. Nothing typed is lost. Going back leaves the merged drafts as they are."""
    report_model = apps.get_model("tracker", "ProgressReport")
    evidence_model = apps.get_model("tracker", "Evidence")
    report_model.objects.filter(updated_by__isnull=True).update(updated_by=models.F("author"))
    working = report_model.objects.filter(state="draft", is_archived=False)
    shared = (
        working.values("implementation_id").annotate(drafts=models.Count("pk")).filter(drafts__gt=1).order_by()
    )
    for row in shared:
        drafts = list(
            working.filter(implementation_id=row["implementation_id"])
            .select_related("author")
            .order_by("-updated_at", "-pk")
        )
        kept, others = drafts[0], drafts[1:]
        texts = {"narrative": kept.narrative, "obstacles": kept.obstacles, "support_needed": kept.support_needed}
        for other in others:
            note = (
                f"--- Earlier draft by {f'{other.author.first_name} {other.author.last_name}'.strip()} "
                f"({other.author.username}), last changed {other.updated_at:%Y-%m-%d %H:%M} UTC: "
                f"{other.status}, {other.progress}% / مسودة سابقة ---"
            )
            texts["narrative"] = "\n\n".join(filter(None, [texts["narrative"], note, other.narrative]))
            for field in ("obstacles", "support_needed"):
                if getattr(other, field):
                    texts[field] = "\n\n".join(filter(None, [texts[field], note, getattr(other, field)]))
        # update(): the kept draft's "last changed" date stays that of its last real change.
        report_model.objects.filter(pk=kept.pk).update(**texts)
        evidence_model.objects.filter(report__in=others).update(report=kept)
        report_model.objects.filter(pk__in=[other.pk for other in others]).update(is_archived=True)


class Migration(migrations.Migration):

    dependencies = [
        ('tracker', '0012_shared_drafts'),
    ]

    operations = [
        migrations.RunPython(share_drafts, migrations.RunPython.noop, elidable=False),
    ]
