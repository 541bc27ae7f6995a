import uuid

from django.db import migrations, models


def give_each_row_its_own_id(apps, schema_editor):
    for name in ("Organization", "Service", "Location"):
        model = apps.get_model("directory", name)
        for row in model.objects.filter(hsds_id__isnull=True).only("pk").iterator():
            model.objects.filter(pk=row.pk).update(hsds_id=uuid.uuid4())


def _field(null):
    # Added without a default first: AddField would give every existing row the same one.
    default = models.NOT_PROVIDED if null else uuid.uuid4
    return models.UUIDField(
        default=default, editable=False, help_text="Open Referral HSDS id", null=null, unique=not null
    )


class Migration(migrations.Migration):
    dependencies = [("directory", "0008_add_postcode_county")]

    operations = [
        *(migrations.AddField(name, "hsds_id", _field(null=True)) for name in ("organization", "service", "location")),
        migrations.RunPython(give_each_row_its_own_id, migrations.RunPython.noop),
        *(
            migrations.AlterField(name, "hsds_id", _field(null=False))
            for name in ("organization", "service", "location")
        ),
    ]
