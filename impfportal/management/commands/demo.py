"""`make run`: migrate, load the demo data, print the admin login, serve web + task worker.

Ctrl-C (or SIGTERM) stops the web server, the worker and the embedded PostgreSQL, so
nothing is left running.
"""

import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils import timezone

from impfportal import embedded_postgres
from impfportal.services import (
    demo_admin_ensure,
    demo_api_client_ensure,
    demo_api_token_file,
    demo_appointments_plan,
    demo_data_load,
    demo_password_file,
    demo_releases_ensure,
)


class Command(BaseCommand):
    help = "Set up and serve the demo: web server and task worker (make run)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--no-serve", action="store_true", help="only migrate and load the demo data")

    def handle(self, *args, host, port, no_serve, **options):
        started = time.monotonic()
        self.stdout.write("Migrating the database ...")
        call_command("migrate", interactive=False, verbosity=0)
        login = demo_admin_ensure(password_file=demo_password_file())
        self.api_token = demo_api_client_ensure(token_file=demo_api_token_file())
        admin = get_user_model().objects.get(username=login.username)
        today = timezone.localdate()
        self.stdout.write("Loading the demo data ...")
        for step, result in demo_data_load(user=admin, today=today).items():
            self.stdout.write(f"  {step}: {result}")
        self._plan(today)
        self._release(admin)
        self.stdout.write(f"Ready after {time.monotonic() - started:.1f} s.")
        if no_serve:
            return
        if not _port_free(host, port):
            raise CommandError(
                f"Port {port} on {host} is in use. Stop what uses it, or run: PORT={port + 1} make run"
            )
        connections.close_all()
        self._serve(host, port, login)

    def _plan(self, today):
        """Plan before serving, so that the demo opens with bookable appointments."""
        self.stdout.write("Planning appointments (a minute at most, only when deliveries changed) ...")
        started = time.monotonic()
        plan = demo_appointments_plan(today=today)
        window = f"{plan.centres} centres, {plan.plan_from:%d.%m.%Y} to {plan.plan_to:%d.%m.%Y}"
        if plan.run is None:
            self.stdout.write(f"  {window}: up to date, {plan.appointments:,} appointments")
        else:
            self.stdout.write(
                f"  {window}: {plan.appointments:,} appointments ({plan.run.created:,} added, "
                f"{plan.run.withdrawn:,} withdrawn) in {time.monotonic() - started:.1f} s"
            )

    def _release(self, admin):
        """Release appointments, so that the demo can book (and show the waiting room)."""
        for demo in demo_releases_ensure(user=admin):
            release = demo.release
            opens = timezone.localtime(release.opens_at)
            how = (
                f"opens {opens:%H:%M} (pre-queue from {timezone.localtime(release.prequeue_from):%H:%M}),"
                f" waiting room at /warteraum/"
                if demo.queue
                else "bookable now, without a waiting room"
            )
            self.stdout.write(
                f'  Release "{release.name}": {release.pairs:,} pairs'
                f" ({release.hotline_pairs:,} for the hotline), {release.first_day:%d.%m.} to"
                f" {release.last_day:%d.%m.%Y}, {how}"
            )

    def _serve(self, host, port, login):
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        # Each child in a process group of its own, so that a stop that runs out of patience can
        # kill a child with everything it started (the worker's task processes: the waiting
        # room's ticker runs for most of each minute); Ctrl-C then reaches only this process,
        # which stops them.
        children = [
            subprocess.Popen(
                [*manage, "runserver", f"{host}:{port}", "--noreload", "--skip-checks"], process_group=0
            ),
            subprocess.Popen([*manage, "qcluster"], process_group=0),
        ]
        url = f"http://{host}:{port}"
        self.stdout.write(
            self.style.SUCCESS(
                f"\n  Impfportal:  {url}/\n"
                f"  Admin:       {url}/admin/   user: {login.username}   password: {login.password}\n"
                f"  Hotline-API: {url}/api/docs/   token: {self.api_token}\n"
                f"  Health:      {url}/healthz\n"
                "  Stop with Ctrl-C.\n"
            )
        )
        # SIGTERM (and SIGHUP, a closed terminal) get the same orderly stop as Ctrl-C.
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, _raise_terminate)
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            self.stderr.write("A demo process ended unexpectedly; stopping the others.")
        except (KeyboardInterrupt, _Terminate):
            pass
        finally:
            # A second SIGTERM must not cut the stop short and leave the worker running:
            # `timeout` and `kill -- -group` deliver one to this process and its group.
            for signum in (signal.SIGTERM, signal.SIGHUP):
                signal.signal(signum, signal.SIG_IGN)
            self.stdout.write("\nStopping ...")
            _stop(children)
            if settings.EMBEDDED_PGDATA:
                embedded_postgres.stop(settings.EMBEDDED_PGDATA)
            self.stdout.write("Stopped.")


class _Terminate(Exception):
    pass


def _raise_terminate(signum, frame):
    raise _Terminate


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _stop(children: list[subprocess.Popen]) -> None:
    """SIGTERM to each child; who has not stopped after 10 s is killed with its whole group
    (the task worker waits for a running task, and its task processes would outlive it and
    fail when the database stops next)."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + 10
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
