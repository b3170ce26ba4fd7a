"""`manage.py bootstrap_roles [--grant USER:ROLE ...]`: make sure the six role groups exist; grant roles."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from audit.services import Actor
from rwa_service.accounts.services import roles_ensure, user_role_grant
from rwa_service.exceptions import DomainError


class Command(BaseCommand):
    help = "Create the role groups if missing, and optionally grant roles: --grant alice:operator"

    def add_arguments(self, parser):
        parser.add_argument("--grant", action="append", default=[], metavar="USER:ROLE")

    def handle(self, *args, **options):
        created = roles_ensure()
        self.stdout.write(f"roles created: {', '.join(created) or 'none (all present)'}")
        for item in options["grant"]:
            username, _, role = item.partition(":")
            user = get_user_model().objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"No user '{username}'.")
            try:
                granted = user_role_grant(actor=Actor.system("bootstrap_roles"), user=user, role=role)
            except DomainError as exc:
                raise CommandError(exc.detail) from exc
            self.stdout.write(f"{username}: {role} {'granted' if granted else 'already held'}")
