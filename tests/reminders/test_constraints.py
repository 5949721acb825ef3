"""The database itself refuses a second reminder for the same recipient, scope, kind and stage."""

import pytest
from django.db import IntegrityError, transaction

from tracker.reminders.models import Reminder

pytestmark = pytest.mark.django_db


def test_it_refuses_a_second_reminder_with_the_same_key(reference, egypt_focal_point):
    key = {"recipient": egypt_focal_point, "body": reference, "kind": "overdue", "stage": "1", "scope": "cycle-1"}
    Reminder.objects.create(**key)
    with transaction.atomic(), pytest.raises(IntegrityError):
        Reminder(**key).save()
