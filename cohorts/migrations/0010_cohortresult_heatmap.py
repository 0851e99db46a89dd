"""Cohort results keep the correlation heat-map as the page draws it: one signed byte per cell of the lower
triangle, in hundredths, so the cohort page never parses the full correlation matrix."""
import numpy as np
from django.db import migrations, models


def cells(correlation) -> bytes:  # as cohorts.curves.heatmap_cells, frozen here
    matrix = np.asarray(correlation, dtype=np.float64)
    if matrix.ndim != 2 or not matrix.size:
        return b""
    lower = np.rint(np.clip(np.nan_to_num(matrix[np.tril_indices(len(matrix))]), -1, 1) * 100)
    return lower.astype(np.int8).tobytes()


def fill(apps, schema_editor):
    CohortResult = apps.get_model("cohorts", "CohortResult")
    for result in CohortResult.objects.only("cohort", "correlation").iterator(chunk_size=50):
        CohortResult.objects.filter(pk=result.pk).update(heatmap=cells(result.correlation))


class Migration(migrations.Migration):
    dependencies = [("cohorts", "0009_cohort_results")]

    operations = [
        migrations.AddField(
            model_name="cohortresult", name="heatmap",
            field=models.BinaryField(default=b"", editable=False,
                                     help_text="the correlations as the page draws them (cohorts.curves.heatmap_cells)"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
