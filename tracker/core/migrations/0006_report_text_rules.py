# Validators only (no SQL): report and outcome texts refuse NUL characters and more than 20,000 characters.

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tracker', '0005_rooms_own_their_models'),
    ]

    operations = [
        migrations.AlterField(
            model_name='progressreport',
            name='narrative',
            field=models.TextField(blank=True, validators=[django.core.validators.ProhibitNullCharactersValidator(), django.core.validators.MaxLengthValidator(20000)], verbose_name='what was done'),
        ),
        migrations.AlterField(
            model_name='progressreport',
            name='obstacles',
            field=models.TextField(blank=True, validators=[django.core.validators.ProhibitNullCharactersValidator(), django.core.validators.MaxLengthValidator(20000)], verbose_name='obstacles'),
        ),
        migrations.AlterField(
            model_name='progressreport',
            name='support_needed',
            field=models.TextField(blank=True, validators=[django.core.validators.ProhibitNullCharactersValidator(), django.core.validators.MaxLengthValidator(20000)], verbose_name='support needed'),
        ),
        migrations.AlterField(
            model_name='reviewoutcome',
            name='follow_up_by',
            field=models.CharField(blank=True, max_length=255, validators=[django.core.validators.ProhibitNullCharactersValidator()], verbose_name='who follows up'),
        ),
        migrations.AlterField(
            model_name='reviewoutcome',
            name='obstacle',
            field=models.TextField(blank=True, validators=[django.core.validators.ProhibitNullCharactersValidator(), django.core.validators.MaxLengthValidator(20000)], verbose_name='obstacle found'),
        ),
        migrations.AlterField(
            model_name='reviewoutcome',
            name='solution',
            field=models.TextField(blank=True, validators=[django.core.validators.ProhibitNullCharactersValidator(), django.core.validators.MaxLengthValidator(20000)], verbose_name='solution agreed'),
        ),
    ]
