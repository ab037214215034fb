"""Connection settings that the performance budget depends on."""

from __future__ import annotations

import pytest
from django.db import connection


@pytest.mark.django_db
def test_postgresql_connections_run_without_jit() -> None:
    """JIT compilation of the visibility probes' plans cost seconds per page (bench scale
    1.0, account page: 2.4 s of compiling for 10 ms of work); every connection turns it off."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
