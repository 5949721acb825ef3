"""Import and export (django-import-export): recommendations in both languages, and focal points.

Every row is validated with the model's own rules (full_clean, constraints) during the dry run, so the preview
lists every row error before anything is saved; a file with errors changes nothing.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from tracker.core.models import Body, FocalPointDesignation, Meeting, MemberState, Recommendation, ThematicArea
from tracker.core.permissions import FOCAL_POINT_GROUP


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
    meeting = fields.Field(attribute="meeting", column_name="meeting",
                           widget=LookupWidget(Meeting, field="code"))
    themes = fields.Field(attribute="themes", column_name="themes",
                          widget=ManyLookupWidget(ThematicArea, field="code", separator=";"))
    applies_to = fields.Field(attribute="applies_to", column_name="applies_to",
                              widget=ManyLookupWidget(MemberState, field="iso_code", separator=";"))

    class Meta(ValidatedResource.Meta):
        model = Recommendation
        import_id_fields = ["meeting", "reference"]
        fields = ["meeting", "reference", "position", "text_en", "text_ar", "arabic_text_status", "themes",
                  "applies_to", "target_date", "is_public", "is_archived"]
        export_order = fields


class FocalPointResource(ValidatedResource):
    """One row per designation; the account is found by e-mail, or created without a usable password."""

    email = fields.Field(attribute="user__email", column_name="email", readonly=True)
    user = fields.Field(attribute="user", column_name="username",
                        widget=LookupWidget(get_user_model(), field="username"))
    member_state = fields.Field(attribute="member_state", column_name="member_state",
                                widget=LookupWidget(MemberState, field="iso_code"))
    body = fields.Field(attribute="body", column_name="body", widget=LookupWidget(Body, field="code"))

    class Meta(ValidatedResource.Meta):
        model = FocalPointDesignation
        import_id_fields = ["user", "member_state", "body", "start_date"]
        fields = ["username", "email", "member_state", "body", "role", "start_date", "end_date",
                  "preferred_language", "phone"]
        export_order = fields

    def before_import_row(self, row, **kwargs):
        """Create the account named by username and e-mail if it does not exist (rolled back in a dry run)."""
        username, email = (row.get("username") or "").strip(), (row.get("email") or "").strip()
        if not username or not email:
            return
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(username=username, defaults={"email": email})
        if created:
            user.set_unusable_password()
            user.save()
        user.groups.add(Group.objects.get_or_create(name=FOCAL_POINT_GROUP)[0])
