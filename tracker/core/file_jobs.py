"""The life of a job that builds a file on the worker (the review's meeting pack, the secretariat's admin export):
queued, claimed once, at work with its progress recorded, then ready with its file or failed with the error. The
rooms' job models share these fields (`state`, `created_at`, `started_at`, `finished_at`, `progress`, `file`,
`error`) and states (QUEUED, READY, FAILED and their own "at work" state); these steps are written once here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.files import File
from django.db import models
from django.utils import timezone


def claim(jobs: models.QuerySet[Any], pk: int, working: str) -> tuple[Any, models.QuerySet[Any]] | None:
    """Take a queued job to work on it: compare-and-set, so only one worker (or request) ever does. The job (from
    `jobs`, with its select_related) and `mine`, the job while this claim holds (what its updates go through);
    None if it was not ours (already claimed, or gone)."""
    queued = jobs.model.State.QUEUED
    if not jobs.filter(pk=pk, state=queued).update(state=working, started_at=timezone.now()):
        return None
    job = jobs.get(pk=pk)
    return job, jobs.model._default_manager.filter(pk=pk, state=working, started_at=job.started_at)


def fail(model: type[models.Model], pk: int, error: str, working: str) -> int:
    """Mark a job that is still queued or at work as failed with `error` (a failed or ready one stays as it is)."""
    states: Any = model.State  # type: ignore[attr-defined]
    return model._default_manager.filter(pk=pk, state__in=[states.QUEUED, working]).update(
        state=states.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def expire_stopped(
    model: type[models.Model], working: str, what: str, lease: timedelta, queue_timeout: timedelta
) -> int:
    """Jobs at work longer than their lease stopped with their worker, and jobs no worker took in `queue_timeout`
    were lost: mark them failed, so they can be asked for again (a late worker that still finishes finds its claim
    gone and discards its file; one that takes a lost job later finds it no longer queued)."""
    states: Any = model.State  # type: ignore[attr-defined]
    now = timezone.now()
    jobs = model._default_manager
    stopped = jobs.filter(state=working, started_at__lt=now - lease).update(
        state=states.FAILED, error=f"stopped: the {what} outlived its lease", finished_at=now
    )
    lost = jobs.filter(state=states.QUEUED, created_at__lt=now - queue_timeout).update(
        state=states.FAILED, error="lost: no worker took it", finished_at=now
    )
    return stopped + lost


def store(job: models.Model, mine: models.QuerySet[Any], name: str, content: File) -> bool:
    """Save the built file and mark the job ready, if it is still ours (`mine`: the job as claimed). A job given up
    on meanwhile (expire_stopped) keeps no orphan file. True if the job is ready."""
    stored = job.file  # type: ignore[attr-defined]
    stored.save(name, content, save=False)
    ready = job.State.READY  # type: ignore[attr-defined]
    if mine.update(state=ready, file=stored.name, progress=100, finished_at=timezone.now()):
        return True
    stored.delete(save=False)
    return False
