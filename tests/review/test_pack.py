"""The meeting pack: Word and PDF in Arabic and English, read back; built from the frozen record; built once."""

import datetime as dt
import io
from unittest import mock

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse
from docx import Document
from docx.oxml.ns import qn

from tests.support.packs import docx_text, local, make_cycle, pdf_text, report, two_reviews
from tracker.core import services
from tracker.review.models import MeetingPack
from tracker.review.pack import PackUnavailable, build_pack
from tracker.review.pack.content import assemble
from tracker.review.pack.jobs import claim, expire_stopped_builds, request_pack, run
from tracker.review.tasks import build_meeting_pack

READERS = {"docx": docx_text, "pdf": pdf_text}
AFTER_THE_SECOND_CLOSE = local(dt.date(2027, 1, 20))


@pytest.fixture
def reviews(reference, secretariat_officer, egypt_focal_point, jordan_focal_point):
    return two_reviews(reference, secretariat_officer, egypt_focal_point, jordan_focal_point)


@pytest.fixture
def closed(reviews):
    return reviews[1]


def squeeze(text):
    """Text extraction breaks lines where the layout did: compare with single spaces."""
    return " ".join(text.split())


@pytest.mark.parametrize("fmt", ["docx", "pdf"])
def test_it_writes_the_english_pack_and_reads_it_back(closed, fmt):
    with time_machine.travel(AFTER_THE_SECOND_CLOSE, tick=False):
        text = squeeze(READERS[fmt](build_pack(closed, "en", fmt)))
    for heading in ("Meeting pack: Arab Interior Ministers' Council", "Overview", "Commitments from the last review"):
        assert heading in text
    for heading in ("Trends", "Stalled items and why", "Outcomes recorded in this cycle", "Annex: Egypt"):
        assert heading in text
    assert "Situation at the close of Review cycle 2026-2, Dec. 15, 2026" in text
    assert "Review cycle 2026-1: 1 done, 0 open, 1 late, 0 dropped." in text
    assert "Adopt the data-sharing protocol" in text and "Train border officials" in text
    assert "No submitted report for" in text  # a stalled reason in words, with its numbers
    assert "154" in text  # 7 recommendations × 22 member states followed up


@pytest.mark.parametrize("fmt", ["docx", "pdf"])
def test_it_writes_the_arabic_pack_and_reads_it_back(closed, fmt):
    with time_machine.travel(AFTER_THE_SECOND_CLOSE, tick=False):
        text = squeeze(READERS[fmt](build_pack(closed, "ar", fmt)))
    for heading in ("نظرة عامة", "البنود المتعثرة وأسباب تعثرها", "النتائج المسجلة في هذه الدورة", "الدولة العضو"):
        assert heading in text
    assert "دورة المراجعة" in text and "مصر" in text and "الأردن" in text  # (a PDF's text puts "2026-2" apart)
    assert "قيد التنفيذ" in text  # Egypt's status, in Arabic
    assert "Overview" not in text and "Egypt" not in text
    assert "154" in text


def test_it_lays_the_arabic_word_document_out_right_to_left(closed):
    document = Document(io.BytesIO(build_pack(closed, "ar", "docx")))
    paragraphs = [p for p in document.paragraphs if p.text.strip()]
    cells = [p for t in document.tables for row in t.rows for c in row.cells for p in c.paragraphs if p.text]
    assert paragraphs and cells
    assert all(p._p.pPr is not None and p._p.pPr.find(qn("w:bidi")) is not None for p in paragraphs + cells)
    assert all(r._r.rPr.find(qn("w:rtl")) is not None for p in paragraphs for r in p.runs)
    assert all(t._tbl.tblPr.find(qn("w:bidiVisual")) is not None for t in document.tables)
    assert document.sections[0]._sectPr.find(qn("w:bidi")) is not None
    fonts = document.styles["Normal"].element.rPr.find(qn("w:rFonts"))
    assert fonts.get(qn("w:cs")) == "Arial"


def test_it_lays_the_english_word_document_out_left_to_right(closed):
    document = Document(io.BytesIO(build_pack(closed, "en", "docx")))
    assert not document.element.body.findall(".//" + qn("w:bidi"))
    assert not document.element.body.findall(".//" + qn("w:bidiVisual"))


def test_it_builds_a_closed_cycle_pack_from_the_frozen_record(reviews, reference, egypt_focal_point):
    _first, closed, late_commitment = reviews
    with time_machine.travel(AFTER_THE_SECOND_CLOSE, tick=False):
        before = assemble(closed, "en").text()
        third = services.move_cycle(make_cycle(reference, "2027-1", dt.date(2027, 1, 1), dt.date(2027, 6, 30)), "open")
        report(egypt_focal_point, "EG", "R3", "implemented", 100)
        report(egypt_focal_point, "EG", "R4", "in_progress", 10, obstacles="A new obstacle")
        from tracker.core.commitments import mark_done
        from tracker.core.permissions import access_for

        mark_done(late_commitment, egypt_focal_point, access_for(egypt_focal_point), "Protocol signed.")
        after = assemble(closed, "en").text()
        live = assemble(third, "en").text()
    assert after == before
    assert "1 done, 0 open, 1 late" in after  # the commitment as it stood at the close
    assert "Situation on Jan. 20, 2027" in live and "Situation at the close" not in live


def test_it_says_the_situation_on_a_date_for_an_open_cycle(reference):
    cycle = services.move_cycle(make_cycle(reference, "2026-1", dt.date(2026, 1, 1), dt.date(2026, 6, 30)), "open")
    with time_machine.travel(local(dt.date(2026, 3, 2)), tick=False):
        content = assemble(cycle, "en")
    assert content.situation == "Situation on March 2, 2026"
    assert not content.frozen
    assert "Trends start once a first review cycle is closed." in content.text()
    assert "There was no earlier review: no commitment to follow up yet." in content.text()


def test_it_refuses_a_pack_while_the_cycle_is_being_closed(reference):
    cycle = make_cycle(reference, "2026-1", dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    cycle.state = "closing"
    with pytest.raises(PackUnavailable, match="is being closed"):
        build_pack(cycle, "en", "pdf")


def test_it_reports_progress_up_to_one_hundred(closed):
    seen = []
    build_pack(closed, "en", "pdf", progress=seen.append)
    assert seen == sorted(seen) and seen[0] <= 30 and seen[-1] == 100
    assert any(30 < percent < 100 for percent in seen)  # WeasyPrint's steps, while it lays the PDF out


# --- the job: claimed once, built with progress, stored ---------------------------------------------


def queued(cycle, fmt="docx"):
    return MeetingPack.objects.create(cycle=cycle, language="en", format=fmt)


def test_it_claims_a_pack_only_once(closed):
    pack = queued(closed)
    assert claim(pack.pk) is not None
    assert claim(pack.pk) is None
    assert MeetingPack.objects.get(pk=pack.pk).state == "building"


def test_it_builds_a_queued_pack_once_even_when_the_task_runs_twice(closed):
    pack = queued(closed)
    assert build_meeting_pack.run(pack.pk) is True
    pack.refresh_from_db()
    name = pack.file.name
    assert (pack.state, pack.progress) == ("ready", 100) and pack.finished_at is not None
    assert build_meeting_pack.run(pack.pk) is False  # the broker delivered it again
    pack.refresh_from_db()
    assert pack.file.name == name
    assert "Review cycle 2026-2" in docx_text(pack.file.read())


def test_it_records_a_failed_build_on_the_pack(closed):
    pack = queued(closed)
    with mock.patch("tracker.review.pack.jobs.build_pack", side_effect=RuntimeError("disk full")):
        assert run(pack.pk) is True
    pack.refresh_from_db()
    assert pack.state == "failed" and "disk full" in pack.error and not pack.file


def test_it_builds_small_packs_at_once_and_queues_large_ones(closed, django_capture_on_commit_callbacks):
    assert request_pack(closed, "en", "docx").state == "ready"  # 154 items: a Word document at once
    with mock.patch("tracker.review.tasks.build_meeting_pack.apply_async") as publish:
        with django_capture_on_commit_callbacks(execute=True):
            large = request_pack(closed, "ar", "pdf")  # a PDF of 154 items: in the background
            assert large.state == "queued"
            assert request_pack(closed, "ar", "pdf") == large  # asked again while queued: the same pack
            publish.assert_not_called()  # published once the transaction commits, for the worker to see the row
    publish.assert_called_once_with(args=[large.pk], retry=False)


def test_it_fails_a_pack_at_once_when_the_broker_is_down(closed, django_capture_on_commit_callbacks):
    with mock.patch("tracker.review.tasks.build_meeting_pack.apply_async", side_effect=OSError("refused")):
        with django_capture_on_commit_callbacks(execute=True):
            pack = request_pack(closed, "en", "pdf")
    pack.refresh_from_db()
    assert pack.state == "failed" and "not queued" in pack.error


def test_it_gives_up_on_builds_that_outlived_their_lease(closed):
    with time_machine.travel(local(dt.date(2027, 1, 20), hour=9), tick=False):
        stuck = queued(closed)
        claim(stuck.pk)
        queued(closed, "pdf")  # never taken by a worker
    with time_machine.travel(local(dt.date(2027, 1, 20), hour=11), tick=False):
        assert expire_stopped_builds() == 2
    assert set(MeetingPack.objects.values_list("state", flat=True)) == {"failed"}


# --- the pages -----------------------------------------------------------------------------------


def test_it_prepares_a_pack_from_the_button_and_downloads_it(client, reviewer, closed, settings):
    settings.PACK_INLINE_MAX_ITEMS = 1000  # built at once, whatever the format
    client.force_login(reviewer)
    response = client.post(reverse("review:pack"), {"cycle": closed.pk, "language": "ar", "format": "pdf"})
    pack = MeetingPack.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("review:pack_status", args=[pack.pk])
    page = client.get(response["Location"])
    assert reverse("review:pack_download", args=[pack.pk]) in page.content.decode()
    assert 'http-equiv="refresh"' not in page.content.decode()
    download = client.get(reverse("review:pack_download", args=[pack.pk]))
    assert download["Content-Type"] == "application/pdf"
    assert f"meeting-pack-aimc-cycle-{closed.pk}-ar.pdf" in download["Content-Disposition"]
    assert b"".join(download.streaming_content).startswith(b"%PDF")


def test_it_refreshes_the_status_page_while_the_pack_is_built(client, reviewer, closed):
    pack = queued(closed)
    MeetingPack.objects.filter(pk=pack.pk).update(state="building", progress=40)
    client.force_login(reviewer)
    page = client.get(reverse("review:pack_status", args=[pack.pk])).content.decode()
    assert '<meta http-equiv="refresh" content="3">' in page and 'value="40"' in page
    assert client.get(reverse("review:pack_download", args=[pack.pk])).status_code == 302  # back to the status


@pytest.mark.parametrize(
    "fields",
    [
        {"cycle": "999999", "language": "ar", "format": "pdf"},
        {"cycle": "x", "language": "ar", "format": "pdf"},
        {"language": "fr", "format": "pdf"},
        {"language": "en", "format": "exe"},
    ],
)
def test_it_answers_bad_pack_requests_with_400(client, reviewer, closed, fields):
    client.force_login(reviewer)
    response = client.post(reverse("review:pack"), {"cycle": closed.pk, **fields})
    assert response.status_code == 400
    assert not MeetingPack.objects.exists()


def test_it_answers_409_while_the_cycle_is_being_closed(client, secretariat_officer, reference):
    cycle = make_cycle(reference, "2026-1", dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    type(cycle).objects.filter(pk=cycle.pk).update(state="closing")
    client.force_login(secretariat_officer)
    response = client.post(reverse("review:pack"), {"cycle": cycle.pk, "language": "en", "format": "docx"})
    assert response.status_code == 409 and "is being closed" in response.content.decode()


def test_it_keeps_packs_from_focal_points(client, egypt_focal_point, closed):
    pack = queued(closed)
    client.force_login(egypt_focal_point)
    assert client.get(reverse("review:pack")).status_code == 403
    assert (
        client.post(reverse("review:pack"), {"cycle": closed.pk, "language": "en", "format": "pdf"}).status_code == 403
    )
    assert client.get(reverse("review:pack_status", args=[pack.pk])).status_code == 403
    assert client.get(reverse("review:pack_download", args=[pack.pk])).status_code == 403
    assert MeetingPack.objects.count() == 1


def test_it_sends_signed_out_visitors_to_sign_in(client, closed):
    assert client.get(reverse("review:pack")).status_code == 302


# --- the command ---------------------------------------------------------------------------------


def test_it_writes_the_pack_from_the_command(closed, tmp_path):
    target = tmp_path / "pack-ar.docx"
    call_command("meeting_pack", "--cycle", closed.pk, "--lang", "ar", "--format", "docx", "--output", target)
    assert "دورة المراجعة 2026-2" in docx_text(target.read_bytes())


def test_it_names_a_missing_cycle_in_the_command(db, tmp_path):
    with pytest.raises(CommandError, match="no review cycle 424242"):
        call_command("meeting_pack", "--cycle", 424242, "--lang", "en", "--format", "pdf", "--output", tmp_path / "x")


# --- a real worker -------------------------------------------------------------------------------


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_it_builds_a_large_pack_in_a_worker_with_its_progress_shown(
    reference, secretariat_officer, egypt_focal_point, jordan_focal_point, client
):
    from tests.support.services import IN_CI, require_redis, start_worker, subprocess_env, wait_for

    if IN_CI:
        require_redis()
    closed = two_reviews(reference, secretariat_officer, egypt_focal_point, jordan_focal_point)[1]
    pack = request_pack(closed, "ar", "pdf")  # 154 items: too large a PDF to build in the request
    assert pack.state == "queued"
    seen = set()

    def finished():
        pack.refresh_from_db()
        seen.add(pack.progress)
        return pack.state in ("ready", "failed")

    with start_worker(subprocess_env(), name="pack-worker") as worker:
        try:
            wait_for(finished, timeout=180, interval=0.1, message="the worker to build the pack")
        finally:
            print(worker.output()[-3000:])
    assert pack.state == "ready" and pack.progress == 100
    assert any(0 < percent < 100 for percent in seen)  # the status page had progress to show
    assert "نظرة عامة" in squeeze(pdf_text(pack.file.read()))
