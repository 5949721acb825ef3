"""Import and export (django-import-export): recommendations in both languages, and focal points.

Every row is validated with the model's own rules (full_clean, constraints) during the dry run, so the preview
lists every row error before anything is saved; a file with errors changes nothing.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from tracker.core import services
from tracker.core.models import Body, FocalPointDesignation, Meeting, MemberState, Recommendation, ThematicArea


class LookupWidget(widgets.ForeignKeyWidget):
    """A foreign key by code; an unknown code is a row error that names it, not an import crash."""

    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row, **kwargs)
        except self.model.DoesNotExist:
            raise ValueError(
                _("No %(model)s with %(field)s “%(value)s”.")
                % {"model": self.model._meta.verbose_name, "field": self.field, "value": value}
            ) from None


class ManyLookupWidget(widgets.ManyToManyWidget):
    def clean(self, value, row=None, **kwargs):
        found = super().clean(value, row, **kwargs)
        wanted = {v.strip() for v in str(value or "").split(self.separator) if v.strip()}
        missing = wanted - {str(getattr(obj, self.field)) for obj in found}
        if missing:
            raise ValueError(
                _("Unknown %(model)s: %(values)s.")
                % {"model": self.model._meta.verbose_name, "values": ", ".join(sorted(missing))}
            )
        return found


class ValidatedResource(resources.ModelResource):
    class Meta:
        abstract = True
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = False
        use_transactions = True

    def get_instance(self, instance_loader, row):
        """An unknown code in a key column is reported with the row's other errors, not as a crash."""
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            return None


class RecommendationResource(ValidatedResource):
    meeting = fields.Field(attribute="meeting", column_name="meeting", widget=LookupWidget(Meeting, field="code"))
    themes = fields.Field(
        attribute="themes", column_name="themes", widget=ManyLookupWidget(ThematicArea, field="code", separator=";")
    )
    applies_to = fields.Field(
        attribute="applies_to",
        column_name="applies_to",
        widget=ManyLookupWidget(MemberState, field="iso_code", separator=";"),
    )

    class Meta(ValidatedResource.Meta):
        model = Recommendation
        import_id_fields = ["meeting", "reference"]
        fields = [
            "meeting",
            "reference",
            "position",
            "text_en",
            "text_ar",
            "arabic_text_status",
            "themes",
            "applies_to",
            "target_date",
            "is_public",
            "is_archived",
        ]
        export_order = fields


class UserByEmailWidget(widgets.ForeignKeyWidget):
    """The focal point's account by e-mail, as the designation service finds it (before_import_row has
    created a missing one through the same service, so a row error names only real problems)."""

    def __init__(self):
        super().__init__(get_user_model(), field="email")

    def clean(self, value, row=None, **kwargs):
        email = str(value or "").strip()
        user = get_user_model().objects.filter(email__iexact=email).order_by("pk").first() if email else None
        if user is None:
            raise ValueError(_("No account with the e-mail “%(value)s”.") % {"value": email})
        return user


class FocalPointResource(ValidatedResource):
    """One row per designation, found by the person's e-mail, state, body and start date. A new designation
    goes through the designation service, as on the "Designate" page: the account is found by e-mail (never
    a staff account) or created without a usable password, and its owner is e-mailed a link to set one."""

    username = fields.Field(attribute="user__username", column_name="username", readonly=True)
    user = fields.Field(attribute="user", column_name="email", widget=UserByEmailWidget())
    member_state = fields.Field(
        attribute="member_state", column_name="member_state", widget=LookupWidget(MemberState, field="iso_code")
    )
    body = fields.Field(attribute="body", column_name="body", widget=LookupWidget(Body, field="code"))

    class Meta(ValidatedResource.Meta):
        model = FocalPointDesignation
        import_id_fields = ["user", "member_state", "body", "start_date"]
        fields = [
            "username",
            "user",
            "member_state",
            "body",
            "role",
            "start_date",
            "end_date",
            "preferred_language",
            "phone",
        ]
        export_order = fields

    def before_import_row(self, row, **kwargs):
        """Find or create the account the way the service does (rolled back with the dry run)."""
        email = str(row.get("email") or "").strip()
        if email:
            try:
                services.focal_point_account(
                    services.NewFocalPoint(email=email, username=str(row.get("username") or "").strip())
                )
            except ValidationError as error:
                raise ValueError(" ".join(error.messages)) from None

    def save_instance(self, instance, is_create, row, **kwargs):
        if not is_create:
            return super().save_instance(instance, is_create, row, **kwargs)
        person = services.NewFocalPoint(
            email=instance.user.email, language=instance.preferred_language, phone=instance.phone
        )
        designation = services.designate_focal_point(
            instance.member_state, instance.body, instance.role, person, start_date=instance.start_date
        )
        if instance.end_date:
            designation.end_date = instance.end_date
            designation.full_clean()
            designation.save(update_fields=["end_date"])
        instance.pk, instance._state.adding = designation.pk, False
