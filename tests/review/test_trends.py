"""Trends: the four measures per cycle read from the frozen snapshots, "better or worse since the last review",
a constant query count, SVG charts with their data tables, right-to-left in Arabic, and who may see them."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from tests.conftest import PASSWORD
from tracker.core.models import CycleSnapshot, Implementation, MemberState, ReviewCycle, ThematicArea
from tracker.core.querysets import StalledReason
from tracker.core.trends import Change, Direction, Measure, Order, trends
from tracker.review.charts import Column, Line, line_chart, trend_panel

URL = "/review/trends/"
SVG = "{http://www.w3.org/2000/svg}"
NO_REPORT, UNCHANGED, OBSTACLE = (StalledReason(r).bit for r in ("no_recent_report", "unchanged", "open_obstacle"))

# Egypt's seven items at two closes: (status, progress, reported in the cycle, stalled reasons).
EGYPT_1 = {
    "R1": ("in_progress", 40, True, 0),
    "R2": ("implemented", 100, True, 0),
    "R3": ("not_applicable", 0, False, 0),
    "R4": ("not_started", 0, False, NO_REPORT),
    "R5": ("in_progress", 20, False, UNCHANGED | OBSTACLE),
    "R6": ("not_started", 0, True, 0),
    "R7": ("not_started", 0, False, 0),
}
EGYPT_2 = {
    "R1": ("implemented", 100, True, 0),
    "R2": ("implemented", 100, False, 0),
    "R3": ("not_applicable", 0, False, 0),
    "R4": ("in_progress", 10, True, 0),
    "R5": ("in_progress", 20, False, UNCHANGED),
    "R6": ("not_started", 0, False, NO_REPORT),
    "R7": ("not_applicable", 0, False, 0),
}


def closed_cycle(body, number):
    start = date(2023, 1, 1) + timedelta(days=182 * number)
    return ReviewCycle.objects.create(
        body=body,
        name_en=f"Cycle {number}",
        name_ar=f"الدورة {number}",
        period_start=start,
        period_end=start + timedelta(days=180),
        report_deadline=start + timedelta(days=150),
        state="closed",
        closed_at=datetime.combine(start + timedelta(days=200), datetime.min.time(), tzinfo=UTC),
    )


def freeze(cycle, rows=None, state="EG", default=("not_started", 0, False, 0)):
    """Snapshot rows for every item of `state` (all states if None): `rows` by reference, else `default`."""
    items = Implementation.objects.select_related("recommendation")
    if state:
        items = items.filter(member_state__iso_code=state)
    snapshots = []
    for item in items:
        status, progress, reported, reasons = (rows or {}).get(item.recommendation.reference, default)
        snapshots.append(
            CycleSnapshot(
                cycle=cycle,
                implementation=item,
                status=status,
                progress=progress,
                reported_in_cycle=reported,
                reasons=reasons,
            )
        )
    CycleSnapshot.objects.bulk_create(snapshots)
    return cycle


@pytest.fixture
def egypt_cycles(reference):
    return [freeze(closed_cycle(reference, 1), EGYPT_1), freeze(closed_cycle(reference, 2), EGYPT_2)]


def measures(point):
    return (point.reporting_rate, point.implemented_share, point.average_progress, point.stalled)


def test_it_computes_the_four_measures_from_the_snapshots(reference, egypt_cycles):
    series = trends(reference).overall
    assert [p.cycle for p in series.points] == egypt_cycles
    # Cycle 1: 6 items apply (R3 not applicable); 3 reported, 1 implemented, progress 160 / 6, R4 and R5 stalled.
    assert measures(series.points[0]) == (50, 17, 27, 2)
    # Cycle 2: 5 apply (R3, R7); 2 reported, 2 implemented, progress 230 / 5, R5 and R6 stalled.
    assert measures(series.points[1]) == (40, 40, 46, 2)


def test_it_says_better_or_worse_since_the_last_review(reference, egypt_cycles):
    changes = {change.measure: change.direction for change in trends(reference).overall.changes}
    assert changes == {
        Measure.REPORTING_RATE: Direction.WORSE,
        Measure.IMPLEMENTED_SHARE: Direction.BETTER,
        Measure.AVERAGE_PROGRESS: Direction.BETTER,
        Measure.STALLED: Direction.SAME,
    }


def test_it_counts_fewer_stalled_items_as_better():
    assert Change(Measure.STALLED, 5, 3).direction == Direction.BETTER
    assert Change(Measure.STALLED, 3, 5).direction == Direction.WORSE
    assert Change(Measure.REPORTING_RATE, 30, 40).direction == Direction.BETTER
    assert Change(Measure.REPORTING_RATE, None, 40).direction is None


def test_it_words_the_changes_with_an_arrow_and_text(reference, egypt_cycles):
    panel = trend_panel(trends(reference).overall, "t")
    by_label = {change.label: change for change in panel.changes}
    assert by_label["Reporting rate"].words == "worse since the last review"
    assert by_label["Reporting rate"].arrow == "↓" and "−10\u2069 points" in by_label["Reporting rate"].delta
    assert by_label["Share implemented"].words == "better since the last review"
    assert by_label["Stalled items"].words == "the same as at the last review"


def test_it_says_not_recorded_for_cycles_closed_before_reasons_were_frozen(reference, egypt_cycles):
    CycleSnapshot.objects.filter(cycle=egypt_cycles[0]).update(reasons=None)
    series = trends(reference).overall
    assert series.points[0].stalled is None and series.points[1].stalled == 2
    html = render_to_string("review/_trend_chart.html", {"trend": trend_panel(series, "t")})
    stalled_table = html.split("stalled items at each close</caption>")[1]
    assert "<td>not recorded</td>" in stalled_table and "<td>0</td>" not in stalled_table
    assert "cannot be compared with the last review" in html


def test_it_counts_an_item_under_each_of_its_themes(reference, egypt_cycles):
    result = trends(reference, by="theme", state=MemberState.objects.get(iso_code="EG"))
    by_code = {series.group.code: series.points[-1] for series in result.series}
    # Legal and social protection: R1 (implemented), R3 (not applicable), R5 (in progress, stalled).
    assert measures(by_code["legal-and-social-protection"]) == (50, 50, 60, 1)
    # Access to territory: R3 alone, not applicable: no item applies.
    assert by_code["access-to-territory"].implemented_share is None
    assert "search-and-rescue" not in by_code  # no recommendation has it


def test_it_narrows_to_one_theme_when_grouped_by_theme(reference, egypt_cycles):
    theme = ThematicArea.objects.get(code="specific-needs-trafficking")
    result = trends(reference, by="theme", theme=theme)
    assert [s.group for s in result.series] == [theme]
    assert result.series[0].points[-1].items == 2  # R4 and R5, once each


def test_it_pages_recommendations_most_stalled_first(reference):
    cycle = freeze(closed_cycle(reference, 1), state=None)
    stalled = {"R6": 5, "R2": 3}
    for reference_code, count in stalled.items():
        items = Implementation.objects.filter(recommendation__reference=reference_code).order_by("pk")[:count]
        CycleSnapshot.objects.filter(cycle=cycle, implementation__in=list(items)).update(reasons=NO_REPORT)
    first = trends(reference, by="recommendation", order=Order.STALLED, limit=2)
    assert [s.label for s in first.series] == ["R6", "R2"] and first.total == 7 and first.has_next
    second = trends(reference, by="recommendation", order=Order.STALLED, limit=2, page=2)
    assert [s.label for s in second.series] == ["R1", "R3"]  # no stalled item: their usual order


def test_it_stops_at_the_cycle_a_meeting_pack_is_for(reference, egypt_cycles):
    later = freeze(closed_cycle(reference, 3), EGYPT_2)
    assert trends(reference, until=egypt_cycles[1]).cycles == egypt_cycles
    assert trends(reference).cycles[-1] == later


@pytest.mark.parametrize("cycles", [2, 5])
def test_it_costs_three_queries_whatever_the_cycles(reference, django_assert_num_queries, cycles):
    for number in range(cycles):
        freeze(closed_cycle(reference, number), state=None)
    with django_assert_num_queries(6):  # the cycles, the kept rows (none), the token, one aggregate, its keeping, names
        trends(reference, by="state")
    with django_assert_num_queries(3):  # the cycles, the kept rows, the states' names
        result = trends(reference, by="state")
    assert len(result.series) == 22 and len(result.series[0].points) == cycles


def page_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_it_renders_the_page_in_the_same_number_of_queries_for_2_and_5_cycles(client, reference, reviewer):
    for number in range(2):
        freeze(closed_cycle(reference, number), state=None)
    client.force_login(reviewer)
    two = {url: page_queries(client, url) for url in (URL, f"{URL}?state=EG", f"{URL}?by=recommendation")}
    for number in range(2, 5):
        freeze(closed_cycle(reference, number), state=None)
    five = {url: page_queries(client, url) for url in two}
    assert five == two


def svgs_of(html):
    return [ET.fromstring(svg) for svg in re.findall(r"<svg .*?</svg>", html, re.DOTALL)]


def test_it_draws_valid_svg_named_by_its_title_and_followed_by_its_table(client, reviewer, egypt_cycles):
    client.force_login(reviewer)
    html = client.get(f"{URL}?state=EG", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    svgs = svgs_of(html)
    assert len(svgs) >= 4  # Egypt's two charts, then two per theme
    for svg in svgs:
        assert svg.get("role") == "img"
        title_id, desc_id = svg.get("aria-labelledby").split()
        assert svg.find(f"{SVG}title").get("id") == title_id and svg.find(f"{SVG}desc").get("id") == desc_id
    assert all(svg.findall(f".//{SVG}polyline") for svg in svgs[:2])  # Egypt's lines (a theme may have none)
    figures = re.findall(r'<figure class="trend-chart">(.*?)</figure>', html, re.DOTALL)
    assert len(figures) == len(svgs)
    for figure in figures:
        table = figure.split("</svg>", 1)[1]
        assert "<caption>" in table and '<th scope="col">' in table and '<th scope="row">Cycle 1</th>' in table
    assert "style=" not in html  # the Content-Security-Policy allows no style attribute


def first_line_xs(svg):
    points = svg.find(f".//{SVG}polyline").get("points").split()
    return [float(point.split(",")[0]) for point in points]


@pytest.mark.parametrize("language, oldest_on_the_right", [("ar", True), ("en", False)])
def test_it_runs_time_right_to_left_in_arabic(reference, egypt_cycles, language, oldest_on_the_right):
    with translation.override(language):
        panel = trend_panel(trends(reference).overall, "t")
    svg = ET.fromstring(str(panel.charts[0].svg))
    oldest, newest = first_line_xs(svg)
    assert (oldest > newest) == oldest_on_the_right
    assert svg.get("direction") == ("rtl" if language == "ar" else "ltr")


def test_it_escapes_every_label_and_stays_valid_xml():
    hostile = '<script>alert("x")</script> & R&D'
    chart = line_chart("c", hostile, [Column((hostile,), hostile)], [Line(hostile, [50])])
    svg = ET.fromstring(str(chart.svg))  # would raise on an unescaped < or &
    assert svg.find(f"{SVG}title").text == hostile
    assert "<script>" not in str(chart.svg)


def test_it_formats_numbers_for_the_active_language():
    with translation.override("ar"):
        chart = line_chart("c", "t", [Column(("x",), "Cycle")], [Line("Stalled", [1234])], percent_axis=False)
    assert chart.table.rows == [("Cycle", ["1,234"])]  # project/formats/ar: Western digits, comma thousands


def test_it_renders_the_partial_with_only_its_chart_data(reference, egypt_cycles):
    with translation.override("ar"):
        panel = trend_panel(trends(reference).overall, "pack-overview", show_tables=True)
        html = render_to_string("review/_trend_chart.html", {"trend": panel})
    assert 'direction="rtl"' in html and "الدورة 1" in html
    assert '<div class="trend-table-wrap">' in html  # the pack shows its tables


def test_it_refuses_focal_points_and_sends_visitors_to_sign_in(client, egypt_focal_point):
    assert "/accounts/login/" in client.get(URL)["Location"]
    client.force_login(egypt_focal_point)
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}?state=EG").status_code == 403


def test_it_shows_a_state_by_theme(client, secretariat_officer, egypt_cycles):
    client.force_login(secretariat_officer)
    response = client.get(f"{URL}?state=EG", HTTP_ACCEPT_LANGUAGE="en")
    assert response.context["choice"].by == "theme"
    assert response.context["overview"].heading == "Egypt"
    headings = [panel.heading for panel in response.context["panels"]]
    assert "Legal and social protection frameworks and asylum policy" in headings
    assert '<option value="6" selected>' in response.content.decode()  # the cycles shown, though not asked for


def test_it_links_each_state_to_its_page(client, reviewer, egypt_cycles):
    client.force_login(reviewer)
    html = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<a href="?state=EG">Egypt</a>' in html


def test_it_ignores_filters_it_does_not_understand(client, reviewer, egypt_cycles):
    client.force_login(reviewer)
    response = client.get(URL, {"state": "ZZ", "by": "colour", "last": "999"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response.context["choice"].state is None and response.context["choice"].by == "state"
    assert "Some filters were not understood" in response.content.decode()


def test_it_accepts_the_review_views_ids(client, reviewer, egypt_cycles):
    client.force_login(reviewer)
    egypt = MemberState.objects.get(iso_code="EG")
    assert client.get(URL, {"state": egypt.pk}).context["choice"].state == egypt


def test_it_says_when_no_cycle_has_closed_yet(client, reviewer):
    client.force_login(reviewer)
    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert "No review cycle of this body has closed yet" in response.content.decode()


# --- in a browser ----------------------------------------------------------------------------------


@pytest.fixture
def four_cycles(reference):
    """Four closes of every item, getting better: more reports, more implemented, fewer stalled."""
    for number in range(4):
        rows = {
            f"R{n}": ("implemented" if n <= number else "in_progress", min(100, 25 * (number + 1)), n % 2 == 0, 0)
            for n in range(1, 8)
        }
        rows["R7"] = ("not_started", 0, False, NO_REPORT if number < 3 else 0)
        freeze(closed_cycle(reference, number), rows, state=None)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["ar", "en"])
def test_it_fits_a_phone_in_both_languages_without_accessibility_violations(
    phone, live_server, secretariat_officer, four_cycles, language
):
    from axe_playwright_python.sync_playwright import Axe

    from tests.support.browser import screenshot, sign_in

    violations = []
    phone.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    sign_in(phone, live_server, secretariat_officer.username, PASSWORD)
    if language == "ar":
        phone.locator("form.language-switch button").click()
        phone.wait_for_load_state()
    for path in (URL, f"{URL}?state=EG"):
        phone.goto(f"{live_server.url}{path}")
        assert phone.locator("html").get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} in {language} is {overflow} px wider than the phone"
        width = phone.locator(".trend-overview svg").first.bounding_box()["width"]
        assert 300 <= width <= 360
        results = Axe().run(phone)
        serious = [v["id"] for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
        assert serious == [], f"{path} in {language}: {serious}"
    assert violations == []
    screenshot(phone, f"trends-state-{language}")
