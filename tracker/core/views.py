"""Views every face shares: the language switch in the header of every page."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from tracker.core.models import Profile


@require_POST
def switch_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language, plus: remember the choice for a signed-in user, on every device."""
    language = request.POST.get("language")
    if request.user.is_authenticated and language in {"ar", "en"}:
        Profile.objects.update_or_create(user=request.user, defaults={"language": language})
    return set_language(request)
