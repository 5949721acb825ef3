"""Issuing and revoking partner tokens: the management command and the admin."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.api.support import client_with
from tracker.api.models import ApiToken, PartnerSystem
from tracker.core.models import MemberState


def issue(*args):
    out, err = StringIO(), StringIO()
    call_command("issue_api_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_it_issues_a_scoped_token_printed_once_and_stored_hashed(reference):
    raw, message = issue("unhcr-progres", "--scope", "read", "--states", "eg,JO", "--expires", "30")
    assert re.fullmatch(r"[0-9a-f]{64}", raw)
    assert "EG, JO" in message and "until" in message
    token = ApiToken.objects.get()
    assert token.partner.code == "unhcr-progres" and token.scope == "read"
    assert sorted(token.states.values_list("iso_code", flat=True)) == ["EG", "JO"]
    assert raw not in token.auth_token.digest and token.auth_token.digest != raw
    listed = client_with(raw).get("/api/v1/implementations/?page_size=500").json()["results"]
    assert {row["member_state"] for row in listed} == {"EG", "JO"}


def test_it_refuses_unknown_states_and_bad_expiry(reference):
    with pytest.raises(CommandError, match="XX"):
        issue("partner", "--scope", "read", "--states", "EG,XX")
    with pytest.raises(CommandError):
        issue("partner", "--scope", "read", "--expires", "0")
    assert not ApiToken.objects.exists()


def test_it_marks_a_partner_secretariat_level(reference):
    raw, _ = issue("aimc-secretariat", "--scope", "write", "--secretariat-level", "--name", "AIMC GS")
    partner = PartnerSystem.objects.get(code="aimc-secretariat")
    assert partner.is_secretariat_level and partner.name == "AIMC GS"
    assert not partner.service_account.has_usable_password()
    assert client_with(raw).get("/api/v1/focal-points/").status_code == 200


def test_it_issues_and_revokes_tokens_in_the_admin(reference, admin_client):
    admin_client.post(
        "/admin/api/partnersystem/add/",
        {
            "code": "iom",
            "name": "IOM",
            "contact_email": "",
            "notes": "",
            "is_active": "on",
            "tokens-TOTAL_FORMS": "0",
            "tokens-INITIAL_FORMS": "0",
        },
    )
    partner = PartnerSystem.objects.get(code="iom")
    egypt = MemberState.objects.get(iso_code="EG")
    response = admin_client.post(
        "/admin/api/apitoken/add/",
        {
            "partner": partner.pk,
            "label": "sync",
            "scope": "read",
            "states": [egypt.pk],
            "expires_in_days": "90",
        },
        follow=True,
    )
    [raw] = [found for m in response.context["messages"] for found in re.findall(r"[0-9a-f]{64}", str(m))]
    client = client_with(raw)
    assert client.get(f"/api/v1/member-states/{egypt.pk}/").status_code == 200
    token = ApiToken.objects.get()
    assert token.state_ids == [egypt.pk]
    admin_client.post("/admin/api/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at and token.auth_token is None
    assert client.get("/api/v1/member-states/").status_code == 401
