"""A database created before the rooms (reminders and API partners in the core app) migrates forward to the
house with every row, permission and admin log entry kept."""

import datetime as dt

import pytest

BEFORE_THE_ROOMS = [("tracker", "0004_constraint_messages")]
THE_ROOMS = [("reminders", "0001_initial"), ("api", "0001_initial")]


@pytest.fixture
def old_database(migrator):
    """The last state before the rooms, populated as a working deployment would be."""
    state = migrator.apply_initial_migration(BEFORE_THE_ROOMS)
    model = state.apps.get_model
    officer = model("auth", "User").objects.create(username="officer", email="officer@example.org")
    partner_account = model("auth", "User").objects.create(username="partner-unhcr")
    body = model("tracker", "Body").objects.create(code="aimc", acronym_en="AIMC", name_en="AIMC", name_ar="مجلس")
    egypt = model("tracker", "MemberState").objects.create(iso_code="EG", name_en="Egypt", name_ar="مصر")
    model("tracker", "Reminder").objects.create(
        recipient=officer,
        body=body,
        member_state=egypt,
        kind="overdue",
        stage="EG-o1-20261220",
        scope="cycle-1",
        state="sent",
        sent_at=dt.datetime(2026, 12, 27, tzinfo=dt.UTC),
        cc=["alt@example.org"],
    )
    partner = model("tracker", "PartnerSystem").objects.create(
        code="unhcr", name="UNHCR", service_account=partner_account, is_secretariat_level=True
    )
    token = model("tracker", "ApiToken").objects.create(partner=partner, token_key="abcd1234", scope="write")
    token.states.add(egypt)
    reminder_type = model("contenttypes", "ContentType").objects.get(app_label="tracker", model="reminder")
    model("admin", "LogEntry").objects.create(
        user=officer,
        content_type=reminder_type,
        object_id="1",
        object_repr="reminder",
        action_flag=2,
        action_time=dt.datetime(2026, 12, 28, tzinfo=dt.UTC),
    )
    yield migrator, reminder_type.pk
    migrator.reset()  # back to the latest migrations for the tests that follow, whatever happened


@pytest.mark.django_db(transaction=True)
def test_it_keeps_reminders_partners_and_tokens_when_they_move_to_their_rooms(old_database):
    migrator, _ = old_database
    model = migrator.apply_tested_migration(THE_ROOMS).apps.get_model
    reminder = model("reminders", "Reminder").objects.get()
    assert (reminder.stage, reminder.state, reminder.cc, reminder.member_state.iso_code) == (
        "EG-o1-20261220",
        "sent",
        ["alt@example.org"],
        "EG",
    )
    token = model("api", "ApiToken").objects.get()
    assert (token.partner.code, token.scope, [s.iso_code for s in token.states.all()]) == ("unhcr", "write", ["EG"])
    assert model("api", "PartnerSystem").objects.get().is_secretariat_level


@pytest.mark.django_db(transaction=True)
def test_it_moves_permissions_and_the_admin_log_with_the_models(old_database):
    migrator, reminder_type_id = old_database
    model = migrator.apply_tested_migration(THE_ROOMS).apps.get_model
    content_type = model("contenttypes", "ContentType").objects.get(pk=reminder_type_id)
    assert (content_type.app_label, content_type.model) == ("reminders", "reminder")
    reviewer = model("auth", "Group").objects.get(name="Reviewer")
    assert reviewer.permissions.filter(content_type=content_type, codename="view_reminder").exists()
    assert model("admin", "LogEntry").objects.get().content_type_id == reminder_type_id
    assert not model("contenttypes", "ContentType").objects.filter(app_label="tracker", model="apitoken").exists()
