"""The serving process freezes its start-up objects out of the garbage collector's passes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import gc, json, time
import salesflow.wsgi
frozen = gc.get_freeze_count()
started = time.perf_counter()
gc.collect()
print(json.dumps({"frozen": frozen, "tracked": len(gc.get_objects()), "ms": (time.perf_counter() - started) * 1000}))
"""


def test_importing_the_wsgi_application_freezes_the_start_up_heap(tmp_path: Path) -> None:
    env = {**os.environ, "SALESFLOW_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=300
    )
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    # Django, the apps and the URLconf: well over 100,000 objects frozen, and only the few
    # created after the freeze are left for a full collection to walk.
    assert probe["frozen"] > 100_000
    assert probe["tracked"] < probe["frozen"] / 10
