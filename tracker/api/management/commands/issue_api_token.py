"""python manage.py issue_api_token PARTNER --scope read|write [--states EG,JO] [--expires DAYS]"""

from django.core.management.base import BaseCommand, CommandError

from tracker.api.models import ApiToken
from tracker.api.tokens import ensure_partner, issue_token
from tracker.core.models import MemberState


class Command(BaseCommand):
    help = "Issue an API token for a partner system (created if new). The token is printed once."

    def add_arguments(self, parser):
        parser.add_argument("partner", help="Partner system code, e.g. unhcr-proGres.")
        parser.add_argument("--scope", choices=[c.value for c in ApiToken.Scope], required=True)
        parser.add_argument("--states", default="", help="Comma-separated ISO codes; default every state.")
        parser.add_argument("--expires", type=int, metavar="DAYS", help="Days until the token expires.")
        parser.add_argument("--name", help="Name of a new partner system.")
        parser.add_argument("--label", default="", help="What the token is for.")
        parser.add_argument(
            "--secretariat-level",
            action="store_true",
            help="Mark the partner secretariat-level (contact data, recommendations, cycles).",
        )

    def handle(self, *args, partner, scope, states, expires, name, label, secretariat_level, **options):
        if expires is not None and expires < 1:
            raise CommandError("--expires must be a positive number of days.")
        codes = [code.strip().upper() for code in states.split(",") if code.strip()]
        found = list(MemberState.objects.filter(iso_code__in=codes))
        unknown = sorted(set(codes) - {state.iso_code for state in found})
        if unknown:
            raise CommandError(f"Unknown member state codes: {', '.join(unknown)}.")
        system = ensure_partner(partner, name, secretariat_level=True if secretariat_level else None)
        token, raw = issue_token(system, scope, states=found, expires_days=expires, label=label)
        where = ", ".join(sorted(codes)) or "all member states"
        until = f"until {token.expires_at:%Y-%m-%d %H:%M %Z}" if token.expires_at else "without expiry"
        self.stderr.write(f"Token for {system.name} ({scope}, {where}, {until}). Shown once; store it now:")
        self.stdout.write(raw)
