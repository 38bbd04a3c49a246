"""The import batches a comparison run read, by the source name its findings cite."""

from __future__ import annotations

from shebao.intake.models import ImportBatch
from shebao.registration.models import ComparisonRun

__all__ = ["run_sources"]


def run_sources(run: ComparisonRun) -> dict[str, ImportBatch]:
    """The run's input batches by the source name its findings cite them with (the file
    name; two inputs of one name are told apart by batch: `<batch id>-<file name>`)."""
    batches = list(run.inputs.select_related("created_by__organisation").order_by("kind", "id"))
    names = [b.file_name for b in batches]
    return {
        (b.file_name if names.count(b.file_name) == 1 else f"{b.pk}-{b.file_name}"): b
        for b in batches
    }
