"""Every string a focal point sees is translated: visit each page in Arabic and look for stray English."""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from tests.focal.helpers import item_of, pdf, report_data
from tracker.core.models import ReviewCycle, ReviewOutcome

pytestmark = pytest.mark.django_db
# Text that is rightly not Arabic: the switch to English names itself in English; file formats; user data.
ALLOWED = {"English", "PDF", "Word", "Excel", "minutes", "pdf", "Ahmed", "Leila", "fp", "egypt", "officer"}
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


class VisibleText(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in {"script", "style", "title"}
        self.parts += [value for name, value in attrs if name in {"placeholder", "aria-label", "title"} and value]

    def handle_endtag(self, tag):
        self._skip -= tag in {"script", "style", "title"}

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def english_words(html):
    parser = VisibleText()
    parser.feed(html)
    return {word for part in parser.parts for word in LATIN_WORD.findall(part)} - ALLOWED


@pytest.fixture
def busy_item(client, egypt_focal_point, secretariat_officer, reference):
    """An Egyptian item with a submitted report, evidence, a draft, an outcome and stalled reasons."""
    item = item_of("EG")
    today = timezone.localdate()
    ReviewCycle.objects.create(
        body=reference,
        name_en="Cycle",
        name_ar="الدورة الأولى",
        state="open",
        period_start=today - timedelta(days=100),
        period_end=today,
        report_deadline=today - timedelta(days=1),
    )
    client.force_login(egypt_focal_point)
    client.post(
        f"/items/{item.pk}/", report_data(item, obstacles="نقص التمويل", evidence=pdf()), HTTP_ACCEPT_LANGUAGE="ar"
    )
    item.refresh_from_db()
    client.post(f"/items/{item.pk}/", report_data(item, action="draft", narrative="مسودة"), HTTP_ACCEPT_LANGUAGE="ar")
    ReviewOutcome.objects.create(
        implementation=item,
        obstacle_category="resources",
        obstacle="نقص التمويل",
        solution="",
        follow_up_by="الأمانة العامة",
        recorded_by=secretariat_officer,
    )
    return item


def arabic(client, path, method="get", data=None):
    response = getattr(client, method)(path, data or {}, HTTP_ACCEPT_LANGUAGE="ar", follow=True)
    assert response.status_code in {200, 403, 409}
    return response.content.decode()


def test_it_translates_the_my_state_page(client, busy_item):
    assert english_words(arabic(client, "/")) == set()


def test_it_translates_the_item_page_with_its_timeline_and_flags(client, busy_item):
    assert english_words(arabic(client, f"/items/{busy_item.pk}/")) == set()


def test_it_translates_form_errors(client, busy_item):
    page = arabic(client, f"/items/{busy_item.pk}/", "post", report_data(busy_item, progress=150, status="implemented"))
    assert "يجب أن تكون نسبة التقدم" in page
    assert english_words(page) == set()


def test_it_translates_the_conflict_page(client, busy_item):
    page = arabic(client, f"/items/{busy_item.pk}/", "post", report_data(busy_item, version=1, narrative="نص"))
    assert "التقرير الأحدث" in page
    assert english_words(page) == set()


def test_it_translates_the_page_without_designation(client, reference):
    user = User.objects.create_user("nobody", "nobody@example.org", "x")
    client.force_login(user)
    assert english_words(arabic(client, "/")) == {"nobody"}


def test_it_translates_the_state_list_of_the_secretariat(client, secretariat_officer):
    client.force_login(secretariat_officer)
    assert english_words(arabic(client, "/")) == set()


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/login/",
        "/accounts/password_reset/",
        "/accounts/password_reset/done/",
        "/accounts/reset/done/",
        "/accounts/reset/MQ/bad-token/",
    ],
)
def test_it_translates_the_sign_in_and_password_pages(client, reference, path):
    assert english_words(arabic(client, path)) == set()


def test_it_translates_the_lockout_page(client, egypt_focal_point, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        response = client.post(
            "/accounts/login/", {"username": "fp-egypt", "password": "wrong"}, HTTP_ACCEPT_LANGUAGE="ar"
        )
    assert english_words(response.content.decode()) == set()
