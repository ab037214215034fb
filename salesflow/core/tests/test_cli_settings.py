"""The `salesflow` command and configuration from environment variables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from salesflow.cli import main

ROOT = Path(__file__).resolve().parents[3]

PRINT_SETTINGS = """
import json
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]), "host": db.get("HOST"), "port": db.get("PORT"),
    "user": db.get("USER"), "debug": settings.DEBUG, "hosts": settings.ALLOWED_HOSTS,
    "csrf": settings.CSRF_TRUSTED_ORIGINS, "currency": settings.SALESFLOW_DEFAULT_CURRENCY,
    "currencies": settings.SALESFLOW_CURRENCIES, "tz": settings.TIME_ZONE, "lang": settings.LANGUAGE_CODE,
    "secret": settings.SECRET_KEY, "data_dir": str(settings.DATA_DIR), "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "hsts": settings.SECURE_HSTS_SECONDS, "secure_cookies": settings.SESSION_COOKIE_SECURE,
    "testing": settings.TESTING, "hashers": settings.PASSWORD_HASHERS,
}))
"""

CONFIG_VARS = (
    "DATABASE_URL",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DEBUG",
    "SALESFLOW_DATA_DIR",
    "SALESFLOW_DEFAULT_CURRENCY",
    "SALESFLOW_CURRENCIES",
    "TIME_ZONE",
    "LANGUAGE_CODE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_COOKIES",
    "SALESFLOW_TESTING",
)


def _settings_with(env: dict[str, str]) -> Any:
    clean = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    clean["DJANGO_SETTINGS_MODULE"] = "salesflow.settings"
    result = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        env={**clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_defaults_are_an_embedded_sqlite_installation(tmp_path):
    values = _settings_with({"SALESFLOW_DATA_DIR": str(tmp_path)})
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["name"] == str(tmp_path / "salesflow.sqlite3")
    assert values["data_dir"] == str(tmp_path)
    assert values["debug"] is False
    assert values["currency"] == "CNY"
    assert values["tz"] == "Asia/Shanghai"
    assert values["lang"] == "zh-hans"
    assert "127.0.0.1" in values["hosts"]
    # Without SECRET_KEY a random key is made once and kept in the data directory.
    key_file = tmp_path / "secret_key"
    assert key_file.read_text().strip() == values["secret"] and len(values["secret"]) >= 50
    assert key_file.stat().st_mode & 0o077 == 0
    assert _settings_with({"SALESFLOW_DATA_DIR": str(tmp_path)})["secret"] == values["secret"]


def test_test_mode_is_an_explicit_setting(tmp_path, settings):
    assert settings.TESTING is True  # switched on by the pytest plugin salesflow.core.pytest_mode
    production = _settings_with({"SALESFLOW_DATA_DIR": str(tmp_path)})
    assert production["testing"] is False  # even though this runs under pytest
    assert "MD5" not in production["hashers"][0]
    assert _settings_with({"SALESFLOW_DATA_DIR": str(tmp_path), "SALESFLOW_TESTING": "1"})["testing"] is True


def test_secret_key_file_is_private_from_the_start_and_made_once(tmp_path):
    """Several processes starting at once on a fresh data directory agree on one key, and the
    file never exists with a looser mode (it is created 0600, not chmod-ed afterwards)."""
    clean = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env = {**clean, "DJANGO_SETTINGS_MODULE": "salesflow.settings", "SALESFLOW_DATA_DIR": str(tmp_path)}
    processes = [
        # umask 0: a file written first and chmod-ed later would be world-readable meanwhile
        subprocess.Popen(
            [sys.executable, "-c", PRINT_SETTINGS], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True, umask=0
        )
        for _ in range(4)
    ]
    secrets = {json.loads(p.communicate(timeout=60)[0].strip().splitlines()[-1])["secret"] for p in processes}
    assert len(secrets) == 1
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_environment_configures_a_production_installation(tmp_path):
    values = _settings_with(
        {
            "SALESFLOW_DATA_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://crm:s3cret@db.internal:5433/salesflow",
            "SECRET_KEY": "k" * 20 + "-production-secret-key-from-the-environment",
            "ALLOWED_HOSTS": "crm.example.com, www.example.com",
            "CSRF_TRUSTED_ORIGINS": "https://crm.example.com",
            "DEBUG": "0",
            "SALESFLOW_DEFAULT_CURRENCY": "usd",
            "SALESFLOW_CURRENCIES": "USD,EUR",
            "TIME_ZONE": "Europe/Berlin",
            "LANGUAGE_CODE": "en",
            "SECURE_SSL_REDIRECT": "1",
            "SECURE_HSTS_SECONDS": "31536000",
        }
    )
    assert values["engine"] == "django.db.backends.postgresql"
    assert (values["name"], values["host"], values["port"], values["user"]) == (
        "salesflow",
        "db.internal",
        5433,
        "crm",
    )
    assert values["secret"].endswith("-production-secret-key-from-the-environment")
    assert not (tmp_path / "secret_key").exists()
    assert values["hosts"] == ["crm.example.com", "www.example.com"]
    assert values["csrf"] == ["https://crm.example.com"]
    assert (values["currency"], values["currencies"]) == ("USD", ["USD", "EUR"])
    assert (values["tz"], values["lang"]) == ("Europe/Berlin", "en")
    assert (values["ssl_redirect"], values["hsts"], values["secure_cookies"]) == (True, 31536000, True)


def test_cli_main_runs_django_commands(capsys):
    assert main(["salesflow", "check"]) == 0
    assert "System check identified no issues" in capsys.readouterr().out


def test_console_script_lists_the_salesflow_commands():
    script = Path(sys.executable).parent / "salesflow"
    if not script.exists():
        pytest.skip("the salesflow console script is not installed in this environment (pip install -e .)")
    result = subprocess.run(
        [str(script), "help", "--commands"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    commands = set(result.stdout.split())
    assert {"serve", "createuser", "createtoken", "migrate", "check", "shell"} <= commands
