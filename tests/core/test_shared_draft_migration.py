"""Issue 15: the personal drafts of a database from before shared drafts become one draft per item of a state;
nothing typed is lost."""

import datetime as dt

import pytest

PERSONAL_DRAFTS = [("tracker", "0011_reminder_preferences")]
SHARED_DRAFTS = [("tracker", "0014_one_working_draft")]


@pytest.fixture
def personal_drafts(migrator):
    state = migrator.apply_initial_migration(PERSONAL_DRAFTS)
    model = state.apps.get_model
    user = model("auth", "User").objects
    ahmed = user.create(username="fp-egypt", first_name="Ahmed")
    mona = user.create(username="fp-egypt-alt", first_name="Mona")
    body = model("tracker", "Body").objects.create(code="aimc", acronym_en="AIMC", name_en="AIMC", name_ar="مجلس")
    meeting = model("tracker", "Meeting").objects.create(
        body=body, code="m1", kind="workshop", title_en="Meeting", title_ar="اجتماع"
    )
    recommendation = model("tracker", "Recommendation").objects.create(
        meeting=meeting, reference="R1", text_en="Share data", text_ar="تبادل البيانات"
    )
    states = model("tracker", "MemberState").objects
    egypt = states.create(iso_code="EG", name_en="Egypt", name_ar="مصر")
    jordan = states.create(iso_code="JO", name_en="Jordan", name_ar="الأردن")
    implementation = model("tracker", "Implementation").objects
    eg_item = implementation.create(recommendation=recommendation, member_state=egypt)
    jo_item = implementation.create(recommendation=recommendation, member_state=jordan)
    reports = model("tracker", "ProgressReport").objects
    older = reports.create(
        implementation=eg_item, author=mona, state="draft", status="in_progress", progress=20, narrative="Mona's"
    )
    newer = reports.create(
        implementation=eg_item, author=ahmed, state="draft", status="in_progress", progress=40, narrative="Ahmed's"
    )
    reports.filter(pk=older.pk).update(updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    reports.filter(pk=newer.pk).update(updated_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    model("tracker", "Evidence").objects.create(
        report=older,
        file="evidence/x.pdf",
        original_name="mona.pdf",
        content_type="application/pdf",
        size=1,
        sha256="0",
        uploaded_by=mona,
    )
    alone = reports.create(implementation=jo_item, author=ahmed, state="draft", status="not_started", progress=0)
    yield migrator, older.pk, newer.pk, alone.pk
    migrator.reset()


@pytest.mark.django_db(transaction=True)
def test_it_converts_personal_drafts_to_one_shared_draft_per_item(personal_drafts):
    migrator, older_pk, newer_pk, alone_pk = personal_drafts
    model = migrator.apply_tested_migration(SHARED_DRAFTS).apps.get_model
    reports = model("tracker", "ProgressReport").objects
    kept = reports.get(pk=newer_pk)
    assert (kept.state, kept.is_archived, kept.progress, kept.revision) == ("draft", False, 40, 1)
    assert kept.updated_by.username == "fp-egypt"
    assert kept.narrative.startswith("Ahmed's") and "Mona's" in kept.narrative and "fp-egypt-alt" in kept.narrative
    assert [e.original_name for e in model("tracker", "Evidence").objects.filter(report=kept)] == ["mona.pdf"]
    older = reports.get(pk=older_pk)  # kept as it was, archived: the secretariat still sees it in the admin
    assert (older.state, older.is_archived, older.narrative) == ("draft", True, "Mona's")
    alone = reports.get(pk=alone_pk)
    assert (alone.is_archived, alone.updated_by.username, alone.narrative) == (False, "fp-egypt", "")
