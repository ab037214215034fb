import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0014_issue8_scoring_qualification"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="lead",
            name="last_verified_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="last verified"),
        ),
        migrations.AddField(
            model_name="lead",
            name="last_verified_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="last verified by",
            ),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["owner", "last_verified_at"], name="lead_owner_verified_idx"),
        ),
    ]
