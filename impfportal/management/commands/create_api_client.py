"""`manage.py create_api_client NAME --scopes availability,bookings`: a hotline API client;
prints its token once."""

from django.core.management.base import BaseCommand, CommandError

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
        wanted = [scope.strip() for scope in scopes.split(",") if scope.strip()]
        unknown = sorted(set(wanted) - set(Scope.values))
        if not wanted or unknown:
            given = ", ".join(unknown) or "(none given)"
            raise CommandError(f"unknown scope(s): {given}; choose from {', '.join(Scope.values)}")
        if requests_per_minute < 1:
            raise CommandError("--requests-per-minute must be at least 1")
        if ApiClient.objects.filter(name=name).exists():
            raise CommandError(f"a client named {name!r} exists already")
        client, token = api_client_create(name=name, scopes=wanted, requests_per_minute=requests_per_minute)
        self.stdout.write(f"Created API client {client.name!r} with scopes {', '.join(client.scopes)}.")
        self.stdout.write("Its token (shown only now, stored hashed):")
        self.stdout.write(token)
