"""The public pages (issue 17): an overview per body and meeting, a page per published recommendation and per
state that agreed, in Arabic and English. What must never appear: R3 (confidential), Iraq (never agreed), Morocco
(withdrew), Jordan's narratives (it agreed to publish progress only), focal points' names and addresses."""

from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import SECRETARIAT_GROUP, make_user
from tests.public.conftest import (
    CONFIDENTIAL_NARRATIVE,
    EGYPT_NARRATIVE,
    IRAQ_NARRATIVE,
    JORDAN_NARRATIVE,
    agree,
    freeze,
)
from tracker.core.models import (
    Implementation,
    PublicationConsent,
    Recommendation,
    ReviewCycle,
)


@pytest.fixture(autouse=True)
def empty_cache():
    """Pages are cached across requests (and tests): each test starts with none."""
    cache.clear()
    yield
    cache.clear()


def rec(reference):
    return Recommendation.objects.get(reference=reference)


def page_of(reference, lang="en"):
    return f"/public/{lang}/recommendations/{rec(reference).pk}/"


def every_page(lang):
    """Every public page of the `published` region, with a few filters."""
    return [
        f"/public/{lang}/",
        f"/public/{lang}/?status=implemented",
        f"/public/{lang}/?status=no_report",
        f"/public/{lang}/?target=sdg-10.7",
        f"/public/{lang}/?theme=legal-and-social-protection",
        page_of("R1", lang),
        page_of("R2", lang),
        f"/public/{lang}/states/EG/",
        f"/public/{lang}/states/JO/",
    ]


def text_of(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


# --- what the pages show ------------------------------------------------------------------------------


def test_it_shows_the_overview_in_english(client, published):
    page = text_of(client, "/public/en/")
    assert '<html lang="en" dir="ltr">' in page
    assert "Regional Workshop on International Protection in Mixed Movements" in page
    assert f'href="{page_of("R1")}"' in page and f'href="{page_of("R2")}"' in page
    # 2 public recommendations, 4 published items (Egypt's and Jordan's R1 and R2), 1 implemented: 25 %.
    assert "<dt>Recommendations</dt><dd>2</dd>" in page
    assert "<dt>States reporting</dt><dd>2</dd>" in page
    assert "<dd>25%</dd>" in page
    assert "3 of 4" in page
    assert 'href="/public/en/states/EG/"' in page and 'href="/public/en/states/JO/"' in page


def test_it_shows_the_overview_in_arabic_right_to_left(client, published):
    page = text_of(client, "/public/ar/")
    assert '<html lang="ar" dir="rtl">' in page
    assert "ورشة العمل الإقليمية حول الحماية الدولية" in page
    assert "تعزيز التنسيق والتعاون" in page  # R1 in Arabic
    assert "مصر" in page and "الأردن" in page
    assert 'href="/public/ar/states/EG/"' in page


def test_it_links_to_the_same_page_in_the_other_language_with_its_filters(client, published):
    english = text_of(client, "/public/en/?theme=data-collection-exchange")
    assert 'href="/public/ar/?theme=data-collection-exchange" lang="ar" dir="rtl"' in english
    arabic = text_of(client, page_of("R1", "ar"))
    assert f'href="{page_of("R1", "en")}" lang="en" dir="ltr"' in arabic


def test_it_shows_a_recommendation_in_both_languages_with_the_working_translation_mark(client, published, sdg_10_7):
    page = text_of(client, page_of("R1", "ar"))
    assert '<blockquote lang="en" dir="ltr">More regional and international coordination' in page
    assert '<blockquote lang="ar" dir="rtl">تعزيز التنسيق والتعاون' in page
    assert "Working translation" in page or "ترجمة عمل" in page
    assert "الأطر القانونية والاجتماعية للحماية" in page  # its theme
    assert "SDG 10.7" in page and sdg_10_7.title_ar in page


def test_it_shows_each_agreeing_state_on_a_recommendation(client, published):
    page = text_of(client, page_of("R1"))
    assert "Egypt" in page and "Jordan" in page
    assert EGYPT_NARRATIVE in page  # Egypt agreed to publish narratives
    assert "<dt>States reporting</dt><dd>2</dd>" in page
    assert "<dd>50%</dd>" in page  # Egypt implemented, Jordan in progress


def test_it_says_no_report_yet_for_an_item_never_reported(client, published):
    page = text_of(client, page_of("R2"))
    jordan = page[page.index("Jordan") :]
    assert "No report yet" in jordan[: jordan.index("</li>")]
    assert "Last reported" in page[: page.index("Jordan")]  # Egypt's report has its date


def test_it_shows_a_state_s_items_and_their_progress(client, published):
    page = text_of(client, "/public/en/states/EG/")
    assert "<h1>Egypt</h1>" in page
    assert "More regional and international coordination" in page and "Exchange of information" in page
    assert "Implemented" in page and "progress 40%" in page
    assert EGYPT_NARRATIVE in page and "Egypt drafts the law." in page
    assert "<dd>50%</dd>" in page  # R1 implemented, R2 in progress


def test_it_charts_the_history_across_closed_cycles(client, history):
    page = text_of(client, page_of("R1"))
    assert '<svg class="chart" role="img"' in page
    assert '<th scope="row">Cycle 1</th><td>0%</td><td>50%</td><td>2</td>' in page  # Egypt in progress only
    assert '<th scope="row">Cycle 2</th><td>50%</td><td>50%</td><td>2</td>' in page
    assert "In progress · 30%" in page  # Jordan's cell in cycle 2
    overview = text_of(client, "/public/en/")
    assert '<th scope="row">Cycle 2</th><td>50%</td><td>50%</td><td>2</td>' in overview


def test_it_filters_by_theme_status_and_framework_target(client, published):
    r1, r2 = f'href="{page_of("R1")}"', f'href="{page_of("R2")}"'
    by_theme = text_of(client, "/public/en/?theme=data-collection-exchange")
    assert r2 in by_theme and r1 not in by_theme
    by_target = text_of(client, "/public/en/?target=sdg-10.7")
    assert r1 in by_target and r2 not in by_target
    implemented = text_of(client, "/public/en/?status=implemented")
    assert r1 in implemented and r2 not in implemented
    never_reported = text_of(client, "/public/en/?status=no_report")  # Jordan's R2
    assert r2 in never_reported and r1 not in never_reported
    assert '<option value="no_report" selected>' in never_reported


@pytest.mark.parametrize(
    "query",
    [
        "theme=nothing-like-this",
        "status=%3Cscript%3E",
        "target=sdg-99.9",
        "theme=a&theme=b&status=&target=%00",
        "theme=" + "x" * 5000,
        "theme=access-to-territory",  # only R3, confidential, has it
    ],
)
def test_it_ignores_filters_it_does_not_know(client, published, query):
    page = text_of(client, f"/public/en/?{query}")
    assert f'href="{page_of("R1")}"' in page and f'href="{page_of("R2")}"' in page
    assert "<script>" not in page


def test_it_offers_as_filters_only_the_themes_of_published_recommendations(client, published):
    page = text_of(client, "/public/en/")
    assert 'value="data-collection-exchange"' in page
    assert 'value="access-to-territory"' not in page  # R3's only
    assert "Reception, documentation and referral" not in page


# --- what the pages never show ------------------------------------------------------------------------

NEVER = [
    JORDAN_NARRATIVE,
    IRAQ_NARRATIVE,
    CONFIDENTIAL_NARRATIVE,
    "Strengthen protection systems",  # R3 in English
    "تعزيز أنظمة الحماية",  # R3 in Arabic
    "Iraq",
    "العراق",
    "Morocco",
    "المغرب",
    "/states/IQ/",
    "/states/MA/",
    "fp-eg",
    "fp-jo",
    "example.org",
    "Ministry of Interior, letter",  # who agreed: the secretariat's record, not published
]


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_it_never_shows_a_confidential_recommendation_an_unagreed_state_or_a_focal_point(client, history, lang):
    hidden = NEVER + [page_of("R3", lang)]
    for url in every_page(lang):
        page = text_of(client, url)
        assert [text for text in hidden if text in page] == [], url


def test_it_counts_neither_the_confidential_recommendation_nor_the_unagreed_states(client, history):
    page = text_of(client, "/public/en/")
    # With R3 or Iraq counted, there would be 3 recommendations, 3 states, or 2 implemented of 5.
    assert "<dt>Recommendations</dt><dd>2</dd>" in page
    assert "<dt>States reporting</dt><dd>2</dd>" in page
    assert "3 of 4" in page
    # The chart's cycle 2 counts Egypt's and Jordan's R1 and nothing else (Iraq, Morocco and R3 were frozen too).
    assert '<th scope="row">Cycle 2</th><td>50%</td><td>50%</td><td>2</td>' in page


@pytest.mark.parametrize(
    "url",
    [
        "/public/en/recommendations/{r3}/",
        "/public/ar/recommendations/{r3}/",
        "/public/en/recommendations/999999/",
        "/public/en/states/IQ/",
        "/public/en/states/MA/",
        "/public/ar/states/MA/",
        "/public/en/states/XX/",
        "/public/en/states/eg/",
        "/public/en/states/%D9%85%D8%B5/",
        "/public/fr/",
    ],
)
def test_it_answers_404_for_what_is_not_published(client, published, url):
    response = client.get(url.format(r3=rec("R3").pk))
    assert response.status_code == 404
    assert CONFIDENTIAL_NARRATIVE.encode() not in response.content


def test_it_answers_404_for_an_archived_recommendation(client, published):
    Recommendation.objects.filter(reference="R2").update(is_archived=True)
    assert client.get(page_of("R2")).status_code == 404


# --- a withdrawal takes effect at once ----------------------------------------------------------------


def test_it_forgets_a_state_at_the_request_after_it_withdraws(client, history):
    assert "Jordan" in text_of(client, "/public/en/")  # cached now
    assert "Jordan" in text_of(client, page_of("R1"))
    assert client.get("/public/en/states/JO/").status_code == 200
    consent = PublicationConsent.objects.get(member_state__iso_code="JO")
    consent.publishes_progress = False
    consent.save()
    for url in every_page("en"):
        if url.endswith("/states/JO/"):
            assert client.get(url).status_code == 404
        else:
            assert "Jordan" not in text_of(client, url), url
    overview = text_of(client, "/public/en/")
    assert "<dt>States reporting</dt><dd>1</dd>" in overview and "2 of 2" in overview
    assert '<th scope="row">Cycle 2</th><td>100%</td><td>0%</td><td>1</td>' in overview  # Jordan's history too


def test_it_shows_a_state_from_the_request_after_it_agrees(client, published):
    assert "Lebanon" not in text_of(client, "/public/en/")
    agree(published, "LB")
    assert "Lebanon" in text_of(client, "/public/en/")


def test_it_hides_a_recommendation_made_confidential_at_once(client, published):
    assert f'href="{page_of("R2")}"' in text_of(client, "/public/en/")
    recommendation = rec("R2")
    recommendation.is_public = False
    recommendation.save()
    assert f'href="{page_of("R2")}"' not in text_of(client, "/public/en/")
    assert client.get(page_of("R2")).status_code == 404


# --- caching --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/public/en/", "/public/ar/states/EG/"])
def test_it_revalidates_with_an_etag_for_a_304(client, published, url):
    response = client.get(url)
    etag = response["ETag"]
    assert response["Cache-Control"] == "public, no-cache"
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert client.get(url, headers={"If-None-Match": '"another"'}).status_code == 200


def test_it_sets_no_cookie_and_does_not_vary_by_cookie(client, published):
    response = client.get(page_of("R1", "ar"))
    assert response.cookies == {} and "Set-Cookie" not in response
    assert "cookie" not in response.get("Vary", "").lower()


def test_it_answers_a_signed_in_officer_exactly_as_anyone(client, published):
    anonymous = client.get("/public/en/")
    cache.clear()
    client.force_login(make_user("officer", SECRETARIAT_GROUP, first_name="Leila", is_staff=True))
    signed_in = client.get("/public/en/")
    assert signed_in.content == anonymous.content and signed_in["ETag"] == anonymous["ETag"]
    assert "Leila" not in signed_in.content.decode()
    assert "cookie" not in signed_in.get("Vary", "").lower()


def test_it_sends_the_language_from_the_path_to_the_public_overview(client, published):
    response = client.get("/public/", headers={"Accept-Language": "ar"})
    assert response.status_code == 302 and response["Location"] == "/public/ar/"
    assert "accept-language" in response["Vary"].lower()  # the redirect does depend on the browser's language


@pytest.mark.parametrize("page", ["overview", "recommendation", "download"])
def test_it_does_not_vary_by_the_browsers_language_where_the_path_has_it(client, published, page):
    url = {"overview": "/public/ar/", "recommendation": page_of("R1"), "download": "/public/data/published.csv"}[page]
    for language in ("ar", "en"):
        response = client.get(url, headers={"Accept-Language": language})
        assert response.status_code == 200
        assert "accept-language" not in response.get("Vary", "").lower()
        again = client.get(url, headers={"Accept-Language": language, "If-None-Match": response["ETag"]})
        assert again.status_code == 304 and "accept-language" not in again.get("Vary", "").lower()


def test_it_links_the_public_overview_from_the_sign_in_page(client, db):
    page = client.get("/accounts/login/").content.decode()
    assert 'href="/public/' in page


# --- cost -----------------------------------------------------------------------------------------------


def queries(client, url):
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def publish_more(body, isos=("LB", "TN", "QA", "OM")):
    """More agreeing states, with reports and history."""
    cycle = ReviewCycle.objects.filter(state="closed").first()
    for iso in isos:
        agree(body, iso, narratives=True)
        Implementation.objects.filter(member_state__iso_code=iso).update(
            status="in_progress", progress=20, last_reported_at=datetime(2026, 9, 1, tzinfo=UTC)
        )
        if cycle:
            freeze(cycle, {(iso, "R1"): ("in_progress", 10), (iso, "R2"): ("implemented", 100)})


@pytest.mark.parametrize(
    "url", ["/public/en/", "/public/ar/?theme=legal-and-social-protection", "R1", "/public/en/states/EG/"]
)
def test_it_reads_as_many_queries_with_six_states_as_with_two(client, history, url):
    url = page_of(url) if url == "R1" else url
    before = queries(client, url)
    publish_more(history[0].body)
    Recommendation.objects.filter(reference__in=["R4", "R5"]).update(is_public=True)
    assert queries(client, url) == before
    assert before <= 16
