"""`salesflow serve --with-worker` (what `make run` starts): web server, one worker and the
scheduler together; one Ctrl-C stops all three."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from salesflow.core.tests.test_serve_proxy import ROOT, _free_port


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.split(") ", 1)[1][0] != "Z"


def _ignore_sigint() -> None:
    # What a shell does to a job it starts in the background: SIGINT ignored, inherited.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_one_ctrl_c_stops_server_worker_and_scheduler(
    tmp_path: Path, stop: str, copy_migrated_sqlite: Callable[[Path], Path]
) -> None:
    port = _free_port()
    # an installation already migrated (the serve's own migrate then has nothing to apply)
    database = copy_migrated_sqlite(tmp_path / "db.sqlite3")
    env = {
        **os.environ,
        "SALESFLOW_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRET_KEY": "x" * 60,
        "DEBUG": "0",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    cmd = [sys.executable, "-m", "salesflow.cli", "serve", "--port", str(port), "--with-worker"]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_ignore_sigint,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as response:
                    assert response.status == 200
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, "salesflow serve exited"
                assert time.monotonic() < deadline, "salesflow serve did not start"
                time.sleep(0.3)
        children = _children(proc.pid)
        assert len(children) == 2  # the worker and the scheduler
        time.sleep(1.5)  # let them finish starting up (Django set-up) before the Ctrl-C
        if stop == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends to the foreground group
        else:
            proc.terminate()  # a process manager signals the main process only
        assert proc.wait(timeout=20) == 0
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in children)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
