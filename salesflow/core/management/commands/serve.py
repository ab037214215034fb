"""``salesflow serve``: migrate, collect static files and serve the app with waitress.

``--with-worker`` also starts one ``salesflow worker`` and one ``salesflow scheduler`` as child
processes (what ``make run`` uses): one Ctrl-C (or SIGTERM) stops all three.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from types import FrameType
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Apply migrations, collect static files and serve Salesflow (default 127.0.0.1:8000)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument("--no-migrate", action="store_true", help="Skip applying migrations.")
        parser.add_argument(
            "--with-worker",
            action="store_true",
            help="Also run one task worker and the scheduler; Ctrl-C stops them all.",
        )
        parser.add_argument(
            "--trusted-proxy",
            default=os.environ.get("SALESFLOW_TRUSTED_PROXY", ""),
            help="Address of the reverse proxy whose X-Forwarded-* headers are trusted "
            "(or '*'; default: $SALESFLOW_TRUSTED_PROXY). Needed behind an HTTPS proxy.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        from waitress import serve

        from salesflow.wsgi import application

        self.stdout.write(f"Salesflow serving on http://{options['host']}:{options['port']}/")
        proxy: dict[str, Any] = {}
        if options["trusted_proxy"]:
            # waitress strips X-Forwarded-* unless the proxy is trusted; Django needs
            # X-Forwarded-Proto to know the request came in over HTTPS.
            proxy = {
                "trusted_proxy": options["trusted_proxy"],
                "trusted_proxy_headers": {"x-forwarded-proto", "x-forwarded-for", "x-forwarded-host"},
                "clear_untrusted_proxy_headers": True,
            }
        if not options["with_worker"]:
            serve(application, host=options["host"], port=options["port"], threads=options["threads"], **proxy)
            return
        children = [
            subprocess.Popen([sys.executable, "-m", "salesflow.cli", command])  # noqa: S603
            for command in ("worker", "scheduler")
        ]

        def terminate(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        # Ctrl-C reaches the whole process group; SIGTERM (a process manager) only us, so
        # turn it into the same shutdown path. SIGINT is set explicitly too: a shell starting
        # us in the background leaves it ignored, and Python then keeps it ignored.
        signal.signal(signal.SIGTERM, terminate)
        signal.signal(signal.SIGINT, terminate)
        try:
            serve(application, host=options["host"], port=options["port"], threads=options["threads"], **proxy)
        except KeyboardInterrupt:
            pass
        finally:
            stop_children(children)


def stop_children(children: list[subprocess.Popen[bytes]], timeout: float = 10.0) -> None:
    """Ask each child to stop (SIGTERM), then kill the ones still running after ``timeout``."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
