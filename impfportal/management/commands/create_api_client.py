"""`manage.py create_api_client NAME --scopes availability,bookings`: a hotline API client;
prints its token once."""

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from impfportal.api.services import api_client_create
from impfportal.models import ApiClient, Scope


class Command(BaseCommand):
    help = "Create a hotline API client and print its token (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="a name staff will recognise, e.g. 'Call-Center Leipzig'")
        parser.add_argument(
            "--scopes",
            required=True,
            help=f"comma-separated, of: {', '.join(Scope.values)}",
        )
        parser.add_argument("--requests-per-minute", type=int, default=1200)

    def handle(self, *args, name, scopes, requests_per_minute, **options):
        name = name.strip()
        max_length = ApiClient._meta.get_field("name").max_length
        if not name or len(name) > max_length:
            raise CommandError(f"the name must have 1 to {max_length} characters")
        wanted = [scope.strip() for scope in scopes.split(",") if scope.strip()]
        choices = ", ".join(Scope.values)
        if not wanted:
            raise CommandError(f"no scope given; choose from {choices}")
        unknown = sorted(set(wanted) - set(Scope.values))
        if unknown:
            raise CommandError(f"unknown scope(s): {', '.join(unknown)}; choose from {choices}")
        if requests_per_minute < 1:
            raise CommandError("--requests-per-minute must be at least 1")
        if ApiClient.objects.filter(name=name).exists():
            raise CommandError(f"a client named {name!r} exists already")
        try:
            client, token = api_client_create(
                name=name, scopes=wanted, requests_per_minute=requests_per_minute
            )
        except IntegrityError:  # made by someone else since the check above
            raise CommandError(f"a client named {name!r} exists already") from None
        self.stdout.write(f"Created API client {client.name!r} with scopes {', '.join(client.scopes)}.")
        self.stdout.write("Its token (shown only now, stored hashed):")
        self.stdout.write(token)
