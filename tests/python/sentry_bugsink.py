"""Runs Bugsink (a Sentry-compatible server) on loopback for tests/sentry_e2e.rs.

Usage: python sentry_bugsink.py <base dir>

Bugsink keeps everything in SQLite files under <base dir>, with its phone-home switched off
and tasks run inline (no separate worker). It creates one project, and one per tenant of
TENANTS, serves on 127.0.0.1 at a port the system picks, and prints one JSON line:
{"dsn": ..., "url": ..., "tenants": {tenant: dsn, ...}}. Then it answers commands on stdin, one
per line, each with one JSON line on stdout:
  events           -> the project's stored events (their full event data), oldest first
  events <tenant>  -> the same for that tenant's project
It exits when stdin closes.
"""

import json
import os
import secrets
import sys
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

CONF = """
from bugsink.settings.default import *  # noqa

SECRET_KEY = {secret!r}
DATABASES["default"]["NAME"] = {db!r}
DATABASES["snappea"]["NAME"] = {snappea!r}
SNAPPEA = {{"TASK_ALWAYS_EAGER": True}}
EMAIL_BACKEND = "bugsink.email_backends.QuietConsoleEmailBackend"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
BUGSINK = {{
    "BASE_URL": "http://127.0.0.1",
    "SINGLE_USER": True,
    "SINGLE_TEAM": True,
    "PHONEHOME": False,
    "INGEST_STORE_BASE_DIR": {ingest!r},
}}
"""


# Tenants with a project of their own, for the test that routes errors by tenant.
TENANTS = ["team-a", "team-b"]


class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def main():
    base = os.path.abspath(sys.argv[1])
    os.makedirs(base, exist_ok=True)
    with open(os.path.join(base, "bugsink_conf.py"), "w") as f:
        f.write(
            CONF.format(
                secret=secrets.token_hex(32),
                db=os.path.join(base, "db.sqlite3"),
                snappea=os.path.join(base, "snappea.sqlite3"),
                ingest=os.path.join(base, "ingestion"),
            )
        )
    sys.path.insert(0, base)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bugsink_conf"

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("migrate", "snappea", database="snappea", verbosity=0, interactive=False)

    from django.core.wsgi import get_wsgi_application
    from events.models import Event
    from projects.models import Project
    from teams.models import Team

    team = Team.objects.create(name="weir")
    project = Project.objects.create(team=team, name="weir-e2e", slug="weir-e2e")
    projects = {t: Project.objects.create(team=team, name=t, slug=t) for t in TENANTS}

    server = make_server("127.0.0.1", 0, get_wsgi_application(), server_class=Server, handler_class=QuietHandler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def dsn(p):
        return f"http://{p.sentry_key.hex}@127.0.0.1:{port}/{p.id}"

    tenants = {t: dsn(p) for t, p in projects.items()}
    started = {"dsn": dsn(project), "url": f"http://127.0.0.1:{port}", "tenants": tenants}
    print(json.dumps(started), flush=True)

    for line in sys.stdin:
        command, _, tenant = line.strip().partition(" ")
        if command == "events" and (not tenant or tenant in projects):
            which = projects[tenant] if tenant else project
            events = Event.objects.filter(project=which).order_by("digest_order")
            print(json.dumps([e.get_parsed_data() for e in events]), flush=True)
        elif command:
            print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)
    server.shutdown()


if __name__ == "__main__":
    main()
