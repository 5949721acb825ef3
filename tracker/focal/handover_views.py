"""What a state has in progress, shown once to a new focal point or validator after they sign in (the home page
sends them here) and on request later. Thin: the working memory comes from tracker.core.handover."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from tracker.core import handover
from tracker.core.permissions import request_access


@login_required
@require_http_methods(["GET", "POST"])
def handover_summary(request):
    """GET: the working memory of each state and body the user acts for. POST ("Continue"): seen, go home."""
    if request.method == "POST":
        handover.mark_summary_seen(request.user)
        return redirect("home")
    access = request_access(request)
    designations = [
        designation
        for designation in handover.active_designations(request.user)
        if (designation.body_id, designation.member_state_id) in access.scopes
    ]
    if not designations:
        return render(request, "focal/no_designation.html", status=403)
    states = [(d, handover.working_memory(d.body_id, d.member_state_id)) for d in designations]
    return render(request, "focal/handover_summary.html", {"states": states, "many": len(states) > 1})
