"""python -m bench api: see bench/api_servers.py (run by `make bench-api`)."""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from bench import api_servers as bench
from tracker.api.tokens import ensure_partner, issue_token


class Command(BaseCommand):
    help = (
        "Throughput of the implementations shapes partners run (first page, changed_since and updated_since sync "
        "pages, a filtered list, one item), each against a raw psycopg endpoint, as a ratio."
    )

    def add_arguments(self, parser):
        parser.add_argument("--duration", type=int, default=10, help="Seconds per measurement.")
        parser.add_argument("--connections", type=int, default=8)
        parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each server.")
        parser.add_argument("--rounds", type=int, default=2, help="Alternating measurements of each endpoint.")
        parser.add_argument("--recommendations", type=int, default=100, help="Sample recommendations (x22 items).")
        parser.add_argument("--min-ratio", type=float, default=0.0, help="Fail if a shape is below it (e.g. 0.5).")

    def create_database(self):
        """The benchmark database is created on first use (it holds only reference and sample data)."""
        import psycopg
        from psycopg import sql

        params = connection.get_connection_params()
        name = params.pop("dbname")
        with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=True) as admin:
            if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                self.stdout.write(f"created database {name}")

    def handle(self, *args, duration, connections, workers, rounds, recommendations, min_ratio, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark runs on PostgreSQL: set DATABASE_URL=postgres://...")
        self.create_database()
        call_command("migrate", verbosity=0, interactive=False)
        call_command("load_reference_data", verbosity=0)
        items = bench.ensure_data(recommendations)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh planner statistics for both endpoints
        self.stdout.write(f"{items} implementations in the database")
        partner = ensure_partner("bench", "Benchmark")
        _token, raw = issue_token(partner, "read", label="make bench-api", expires_days=1)
        rows = bench.run(
            raw, duration=duration, connections=connections, workers=workers, rounds=rounds, out=self.stdout.write
        )
        below = [f"{shape} ({ratio:.0%})" for shape, _api, _raw, ratio in rows if ratio < min_ratio]
        if below:
            raise CommandError(f"Below {min_ratio:.0%} of raw: {', '.join(below)}.")
