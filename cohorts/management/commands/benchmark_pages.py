"""manage.py benchmark_pages [--cohorts 1000] [--json]: server-side render time of the cohort pages."""
import json
import statistics
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client

from cohorts.models import Agent, Cohort, ParentWallet
from cohorts.services.cohorts import cohort_launch, cohort_run
from cohorts.services.inputs import cohort_input


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = (
        "Measure how long the cohort list and a cohort's page take to render on the server with many "
        "cohorts stored: runs one real cohort (30 agents × the bundled crypto pairs × one day), copies it "
        "to reach --cohorts, times --repeats requests of each page, and rolls everything back."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cohorts", type=int, default=1000, help="cohorts in the database (default 1000)")
        parser.add_argument("--repeats", type=int, default=20, help="timed requests per page (default 20)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON line")

    def handle(self, *args, cohorts, repeats, as_json, **options):
        if cohorts < 1 or repeats < 1:
            raise CommandError("--cohorts and --repeats must be positive")
        try:
            with transaction.atomic():
                report = self._measure(cohorts, repeats)
                raise Rollback
        except Rollback:
            pass
        self.stdout.write(json.dumps(report) if as_json else
                          f"{report['cohorts']} cohorts: list {report['list_ms']} ms ({report['list_queries']} queries), "
                          f"cohort page {report['detail_ms']} ms ({report['detail_queries']} queries), median of {repeats}")

    def _measure(self, count: int, repeats: int) -> dict:
        data = cohort_input(bankroll="1000", agents=30, symbols="BTC-USDT,ETH-USDT,DOGE-USDT,LTC-USDT,XRP-USDT,ADA-USDT",
                            start="2021-05-10T00:00:00Z", end="2021-05-11T00:00:00Z")
        model = cohort_run(cohort_id=cohort_launch(data=data, run=False).pk)
        self._copy(model, count - 1)
        user = get_user_model().objects.create_superuser("benchmark-pages", "b@example.com", "not-used-1")
        client = Client()
        client.force_login(user)
        list_ms, list_queries = self._time(client, "/trading/cohorts", repeats)
        detail_ms, detail_queries = self._time(client, f"/trading/cohorts/{model.pk}/", repeats)
        return {"cohorts": Cohort.objects.count(), "list_ms": list_ms, "list_queries": list_queries,
                "detail_ms": detail_ms, "detail_queries": detail_queries}

    def _copy(self, model: Cohort, copies: int) -> None:
        fields = {f.attname: getattr(model, f.attname) for f in Cohort._meta.concrete_fields if f.name != "id"}
        clones = Cohort.objects.bulk_create(Cohort(**fields) for _ in range(copies))
        wallet = {f.attname: getattr(model.wallet, f.attname) for f in ParentWallet._meta.concrete_fields
                  if f.name not in ("id", "cohort")}
        ParentWallet.objects.bulk_create(ParentWallet(cohort=c, **wallet) for c in clones)
        agents = list(model.agents.all())
        Agent.objects.bulk_create(
            Agent(**{f.attname: getattr(a, f.attname) for f in Agent._meta.concrete_fields if f.name not in ("id", "cohort")},
                  cohort=c) for c in clones for a in agents)

    def _time(self, client: Client, url: str, repeats: int) -> tuple[float, int]:
        queries: list[str] = []
        with connection.execute_wrapper(lambda execute, sql, *rest: (queries.append(sql), execute(sql, *rest))[1]):
            response = client.get(url)
        if response.status_code != 200:
            raise CommandError(f"{url} answered {response.status_code}")
        samples = []
        for _ in range(repeats):
            began = time.perf_counter()
            client.get(url)
            samples.append((time.perf_counter() - began) * 1000)
        return round(statistics.median(samples), 1), len(queries)
