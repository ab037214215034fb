"""`salesflow serve` behind an HTTPS proxy: forwarded headers reach Django only from the
trusted proxy, so SECURE_SSL_REDIRECT does not loop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def _status(url: str, headers: dict[str, str]) -> int:
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_forwarded_proto_is_trusted_only_from_the_proxy(
    tmp_path: Path, copy_migrated_sqlite: Callable[[Path], Path]
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
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    cmd = [sys.executable, "-m", "salesflow.cli", "serve", "--port", str(port), "--trusted-proxy", "127.0.0.1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/login/"
        deadline = time.monotonic() + 60
        while True:
            try:
                status = _status(url, {})
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, "salesflow serve exited"
                assert time.monotonic() < deadline, "salesflow serve did not start"
                time.sleep(0.2)
        assert status == 301  # plain HTTP is redirected to HTTPS
        assert _status(url, {"X-Forwarded-Proto": "https"}) == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
