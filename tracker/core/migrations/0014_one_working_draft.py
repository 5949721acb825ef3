# The constraint comes in its own migration: on PostgreSQL the rows 0013 changed have pending trigger events,
# and an index cannot be created on the table in the same transaction.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tracker', '0013_share_personal_drafts'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='progressreport',
            constraint=models.UniqueConstraint(condition=models.Q(('is_archived', False), ('state', 'draft')), fields=('implementation',), name='one_working_draft_per_implementation', violation_error_message='This item already has a draft: continue that one.'),
        ),
    ]
