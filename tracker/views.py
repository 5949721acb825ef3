from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from tracker.models import Implementation
from tracker.permissions import request_access


@login_required
def home(request):
    """Placeholder landing page until the focal point pages land: the caller's visible items."""
    access = request_access(request)
    items = (
        Implementation.objects.current().visible_to(access)
        .select_related("recommendation__meeting", "member_state")
        .order_by("member_state__iso_code", "recommendation__position")[:200]
    )
    return render(request, "tracker/home.html", {"items": items})
