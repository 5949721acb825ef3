"""Keep one implementation per recommendation and applicable state, however a recommendation is saved."""

from typing import Any

from django.db import models
from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver
from django.utils import timezone

from tracker.core.models import Body, Recommendation


@receiver(post_save, sender=Recommendation)
def create_implementations(
    sender: type[Recommendation], instance: Recommendation, raw: bool = False, **kwargs: Any
) -> None:
    if not raw:
        instance.sync_implementations()


@receiver(m2m_changed, sender=Recommendation.applies_to.through)
def resync_implementations(sender: type[models.Model], instance: models.Model, action: str, **kwargs: Any) -> None:
    if action in {"post_add", "post_remove", "post_clear"} and isinstance(instance, Recommendation):
        instance.sync_implementations()


@receiver(m2m_changed, sender=Body.member_states.through)
def resync_body_recommendations(sender: type[models.Model], instance: models.Model, action: str, **kwargs: Any) -> None:
    if action in {"post_add", "post_remove", "post_clear"} and isinstance(instance, Body):
        for recommendation in Recommendation.objects.filter(meeting__body=instance, applies_to__isnull=True):
            recommendation.sync_implementations()


@receiver(m2m_changed, sender=Recommendation.applies_to.through)
@receiver(m2m_changed, sender=Recommendation.themes.through)
@receiver(m2m_changed, sender=Recommendation.framework_targets.through)
def mark_recommendation_changed(
    sender: type[models.Model],
    instance: models.Model,
    action: str,
    reverse: bool,
    pk_set: set[int] | None,
    **kwargs: Any,
) -> None:
    """Its themes, framework targets and states are part of a recommendation as the API shows it: it moves in the
    sync feed and its ETag changes (tracker.core.sync), from whichever side the relation was changed. The public
    pages follow too (the epoch counts the recommendations' change stamps)."""
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    changed = [instance.pk] if not reverse else list(pk_set or ())
    if reverse and action == "post_clear":
        return  # after a clear from the theme's or state's side the ids are gone; no screen or API clears that way
    Recommendation.objects.filter(pk__in=changed).update(updated_at=timezone.now())
