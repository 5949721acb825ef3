"""Bad input on the focal point pages answers a message or a 4xx, never a 500: the address and the report form."""

import pytest

from tests.focal.helpers import item_of, report_data
from tests.support.bad_input import NUL, postgresql_refuses_nul
from tracker.core.models import ProgressReport

pytestmark = pytest.mark.django_db

IGNORED = "Some filters were not understood and were ignored."


def test_it_ignores_a_nul_in_the_theme_filter_with_a_notice(client, egypt_focal_point):
    client.force_login(egypt_focal_point)
    with postgresql_refuses_nul():
        response = client.get("/?theme=%00", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert IGNORED in response.content.decode()
    assert response.content.count(b'class="item-card"') == 7  # the filter was dropped, not applied


def test_it_ignores_an_unknown_or_over_long_theme_with_a_notice(client, egypt_focal_point):
    client.force_login(egypt_focal_point)
    for value in ("no-such-theme", "x" * 5000):
        response = client.get(f"/?theme={value}", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200
        assert IGNORED in response.content.decode()


def test_it_still_filters_by_a_known_theme(client, egypt_focal_point):
    client.force_login(egypt_focal_point)
    response = client.get("/?theme=data-collection-exchange", HTTP_ACCEPT_LANGUAGE="en")
    assert IGNORED not in response.content.decode()
    assert 0 < response.content.count(b'class="item-card"') < 7


def test_it_answers_404_for_a_nul_in_the_state_the_secretariat_chooses(client, secretariat_officer):
    client.force_login(secretariat_officer)
    with postgresql_refuses_nul():
        assert client.get("/?state=%00").status_code == 404
        assert client.get("/?state=E%00").status_code == 404
    assert client.get("/?state=eg").status_code == 200


@pytest.mark.parametrize("field", ["narrative", "obstacles", "support_needed"])
def test_it_answers_a_nul_in_a_report_field_with_a_form_error(client, egypt_focal_point, field):
    item = item_of("EG")
    client.force_login(egypt_focal_point)
    with postgresql_refuses_nul():
        response = client.post(
            f"/items/{item.pk}/", report_data(item, **{field: f"a{NUL}b"}), HTTP_ACCEPT_LANGUAGE="en"
        )
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()
    assert not ProgressReport.objects.exists()


@pytest.mark.parametrize("field", ["narrative", "obstacles", "support_needed"])
def test_it_answers_an_over_long_report_field_with_a_form_error(client, egypt_focal_point, field):
    item = item_of("EG")
    client.force_login(egypt_focal_point)
    response = client.post(f"/items/{item.pk}/", report_data(item, **{field: "x" * 20_001}), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "at most 20000 characters" in response.content.decode()
    assert not ProgressReport.objects.exists()


def test_it_answers_a_bad_progress_or_version_with_a_form_error(client, egypt_focal_point):
    item = item_of("EG")
    client.force_login(egypt_focal_point)
    for bad in ({"progress": "9" * 30}, {"progress": NUL}, {"version": "1e999"}, {"status": NUL}):
        with postgresql_refuses_nul():
            response = client.post(f"/items/{item.pk}/", report_data(item, **bad))
        assert response.status_code == 200, bad
        assert b"errorlist" in response.content
    assert not ProgressReport.objects.exists()
