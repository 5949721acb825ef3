"""A region with two closed reviews, built through the real services over simulated dates, for the meeting pack's
tests: reports, an obstacle with a solution and two commitments at the first review (one done before the second
review, one late at it), reports and an outcome in the second cycle."""

import datetime as dt
import io
import zoneinfo

import time_machine
from django.conf import settings
from docx import Document
from pypdf import PdfReader

from tests.support.commitments import agree, item_of, promise
from tracker.core import services
from tracker.core.commitments import mark_done
from tracker.core.models import FocalPointDesignation, ReviewCycle
from tracker.core.permissions import access_for


def local(day, hour=10):
    return dt.datetime.combine(day, dt.time(hour), tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def make_cycle(body, name, start, end):
    return ReviewCycle.objects.create(
        body=body,
        name_en=f"Review cycle {name}",
        name_ar=f"دورة المراجعة {name}",
        period_start=start,
        period_end=end,
        report_deadline=end - dt.timedelta(days=30),
    )


def report(user, iso_code, reference, status, progress, obstacles=""):
    data = services.ReportInput(status=status, progress=progress, narrative="Work continues.", obstacles=obstacles)
    return services.submit_report(item_of(iso_code, reference), user, access_for(user), data)


def two_reviews(body, officer, egypt, jordan):
    """Cycles 2026-1 and 2026-2, both closed; returns them (the second closed on 2026-12-15) and the commitment
    that was late at the second close."""
    FocalPointDesignation.objects.update(start_date=dt.date(2025, 1, 1))  # designated before the simulated dates
    first = make_cycle(body, "2026-1", dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    second = make_cycle(body, "2026-2", dt.date(2026, 7, 1), dt.date(2026, 12, 31))
    with time_machine.travel(local(dt.date(2026, 2, 1)), tick=False):
        services.move_cycle(first, "open")
    with time_machine.travel(local(dt.date(2026, 3, 1)), tick=False):
        report(egypt, "EG", "R2", "in_progress", 40, obstacles="No budget for the data-sharing platform")
        report(egypt, "EG", "R3", "in_progress", 20, obstacles="Staff not trained")
        report(jordan, "JO", "R1", "implemented", 100)
    with time_machine.travel(local(dt.date(2026, 6, 10)), tick=False):
        services.move_cycle(first, "under_review")
        state_task, secretariat_task = agree(
            item_of("EG", "R2"),
            officer,
            promise("Adopt the data-sharing protocol", days=100),  # due 18 September: late at the next close
            promise("Organise a training with UNHCR", days=60, owner="secretariat"),
        )
        services.close_cycle_now(first)
    with time_machine.travel(local(dt.date(2026, 7, 5)), tick=False):
        services.move_cycle(second, "open")
        report(egypt, "EG", "R2", "in_progress", 60, obstacles="No budget for the data-sharing platform")
    with time_machine.travel(local(dt.date(2026, 8, 1)), tick=False):
        mark_done(secretariat_task, officer, access_for(officer), "Training held in Tunis.")
    with time_machine.travel(local(dt.date(2026, 12, 10)), tick=False):
        services.move_cycle(second, "under_review")
        services.record_outcome(
            item_of("EG", "R3"),
            officer,
            access_for(officer),
            obstacle_category="capacity",
            obstacle="Staff not trained",
            solution="Train border officials",
            follow_up_by="UNHCR",
        )
    with time_machine.travel(local(dt.date(2026, 12, 15)), tick=False):
        services.close_cycle_now(second)
    first.refresh_from_db()
    second.refresh_from_db()
    return first, second, state_task


def docx_text(data):
    document = Document(io.BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(lines)


def pdf_text(data):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
