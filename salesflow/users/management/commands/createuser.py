"""``salesflow createuser USERNAME --role rep --team 华东一组 [--password …]``."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from salesflow.core.errors import ServiceError
from salesflow.users.choices import Role
from salesflow.users.models import Team
from salesflow.users.services import user_create


class Command(BaseCommand):
    help = "Create a Salesflow user with a role and (optionally) a team."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=Role.values, default=Role.REP)
        parser.add_argument("--team", help="Team name; created if it does not exist.")
        parser.add_argument("--password", help="Password (prompted for when omitted).")
        parser.add_argument("--display-name", default="")
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"]
        if not password:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("Passwords do not match.")
        team = None
        if options["team"]:
            team, _created = Team.objects.get_or_create(name=options["team"])
        try:
            user = user_create(
                actor=None,
                username=options["username"],
                password=password,
                role=options["role"],
                team=team,
                display_name=options["display_name"],
                email=options["email"],
            )
        except ServiceError as exc:
            details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.field_errors.items())
            raise CommandError(f"{exc.message} {details}".strip()) from exc
        self.stdout.write(self.style.SUCCESS(f"Created {user.username} ({user.get_role_display()})."))
