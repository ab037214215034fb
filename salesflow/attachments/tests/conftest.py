from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def attachments_dir(settings, tmp_path):
    """Every test stores its files in its own directory."""
    settings.SALESFLOW_ATTACHMENTS_DIR = tmp_path / "attachments"
    return settings.SALESFLOW_ATTACHMENTS_DIR
