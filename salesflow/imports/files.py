"""Where uploaded import files live, and reading a job's file again."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from salesflow.imports.parsing import Table, read_table

if TYPE_CHECKING:
    from salesflow.imports.models import ImportJob


def import_dir() -> Path:
    """Where uploaded import files are kept (under the data directory)."""
    path = Path(getattr(settings, "SALESFLOW_IMPORTS_DIR", settings.DATA_DIR / "imports"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def job_table(job: ImportJob) -> Table:
    """The job's file read again (it was checked when uploaded)."""
    ext = job.stored_name.rsplit(".", 1)[-1]
    return read_table(import_dir() / job.stored_name, ext)
