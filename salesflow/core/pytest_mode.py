"""pytest plugin that switches Salesflow's test mode on (``-p salesflow.core.pytest_mode`` in
``pyproject.toml``).

Test mode is an explicit setting, ``SALESFLOW_TESTING=1``, read by ``salesflow.settings``
(fast password hashing, unhashed static files). pytest-django loads the settings before any
``conftest.py`` runs, so the variable is set here, when pytest loads its plugins; settings
never guess from ``sys.modules``.
"""

from __future__ import annotations

import os

os.environ["SALESFLOW_TESTING"] = "1"
