"""manage.py benchmark_pages [--cohorts 1000] [--agents 30] [--json]: server-side time and weight of the cohort pages.

A finished cohort's page is rendered once and then served from the cache; the command times both."""
import json
import statistics
import time

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client

from cohorts.models import Agent, Cohort, CohortResult, ParentWallet
from cohorts.services.cohorts import cohort_launch, cohort_run
from cohorts.services.inputs import cohort_input

SYMBOLS = "BTC-USDT,ETH-USDT,DOGE-USDT,LTC-USDT,XRP-USDT,ADA-USDT"


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = (
        "Measure how long the cohort list and a cohort's page take to render on the server, and how much "
        "HTML the cohort page weighs, with many cohorts stored: runs one real cohort (--agents agents × the "
        "bundled crypto pairs × one day), copies it to reach --cohorts, times --repeats requests of each "
        "page, and rolls everything back. Needs a migrated database with the sample data loaded."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cohorts", type=int, default=1000, help="cohorts in the database (default 1000)")
        parser.add_argument("--agents", type=int, default=30, help="agents of the measured cohort (default 30)")
        parser.add_argument("--repeats", type=int, default=20, help="timed requests per page (default 20)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON line")

    def handle(self, *args, cohorts, agents, repeats, as_json, **options):
        if cohorts < 1 or repeats < 1 or agents < 1:
            raise CommandError("--cohorts, --agents and --repeats must be positive")
        try:
            with transaction.atomic():
                report = self._measure(cohorts, agents, repeats)
                raise Rollback
        except Rollback:
            pass
        self.stdout.write(json.dumps(report) if as_json else (
            f"{report['database']}, {report['cohorts']} cohorts, cohort of {report['agents']} agents "
            f"(median of {repeats} requests):\n"
            f"  list         {report['list_ms']:>8} ms  {report['list_queries']:>3} queries  {report['list_bytes']:>9,} bytes\n"
            f"  cohort page  {report['detail_ms']:>8} ms  {report['detail_queries']:>3} queries  "
            f"{report['detail_bytes']:>9,} bytes\n"
            f"    uncached   {report['detail_uncached_ms']:>8} ms  {report['detail_uncached_queries']:>3} queries"
            f"  (its first view: nothing in the cache)"))

    def _measure(self, count: int, agents: int, repeats: int) -> dict:
        try:
            data = cohort_input(bankroll="100000", agents=agents, symbols=SYMBOLS,
                                start="2021-05-10T00:00:00Z", end="2021-05-11T00:00:00Z")
        except Exception as exc:  # the input's own validation says what is wrong (e.g. no sample data)
            raise CommandError(str(getattr(exc, "message", exc))) from None
        model = cohort_run(cohort_id=cohort_launch(data=data, run=False).pk)
        if model.status != "completed":
            raise CommandError(f"The measured cohort did not complete: {model.status_reason}")
        self._copy(model, count - 1)
        user = get_user_model().objects.create_superuser("benchmark-pages", "b@example.com", "not-used-1")
        client = Client()
        client.force_login(user)
        list_ms, list_queries, list_bytes = self._time(client, "/trading/cohorts", repeats)
        detail = f"/trading/cohorts/{model.pk}/"
        uncached_ms, detail_queries, detail_bytes = self._time(client, detail, repeats, uncached=True)
        detail_ms, cached_queries, _ = self._time(client, detail, repeats)
        return {"database": connection.vendor, "cohorts": Cohort.objects.count(), "agents": agents,
                "list_ms": list_ms, "list_queries": list_queries, "list_bytes": list_bytes,
                "detail_ms": detail_ms, "detail_queries": cached_queries, "detail_bytes": detail_bytes,
                "detail_uncached_ms": uncached_ms, "detail_uncached_queries": detail_queries}

    def _copy(self, model: Cohort, copies: int) -> None:
        fields = {f.attname: getattr(model, f.attname) for f in Cohort._meta.concrete_fields if f.name != "id"}
        clones = Cohort.objects.bulk_create((Cohort(**fields) for _ in range(copies)), batch_size=200)
        wallet = {f.attname: getattr(model.wallet, f.attname) for f in ParentWallet._meta.concrete_fields
                  if f.name not in ("id", "cohort")}
        ParentWallet.objects.bulk_create(ParentWallet(cohort=c, **wallet) for c in clones)
        result = CohortResult.objects.get(cohort=model)  # every copy stores its results as the original does
        CohortResult.objects.bulk_create(
            (CohortResult(cohort=c, equity_curves=result.equity_curves, correlation=result.correlation,
                          heatmap=result.heatmap, genomes=result.genomes) for c in clones), batch_size=50)
        agents = list(model.agents.all())
        Agent.objects.bulk_create(
            (Agent(**{f.attname: getattr(a, f.attname) for f in Agent._meta.concrete_fields
                      if f.name not in ("id", "cohort")}, cohort=c) for c in clones for a in agents),
            batch_size=2000)

    def _time(self, client: Client, url: str, repeats: int, uncached: bool = False) -> tuple[float, int, int]:
        """Median server time (ms) of `repeats` requests, the queries of one, and its body's size in bytes;
        `uncached`: with the cache emptied before each request (how a page first renders)."""
        queries: list[str] = []
        if uncached:
            cache.clear()
        with connection.execute_wrapper(lambda execute, sql, *rest: (queries.append(sql), execute(sql, *rest))[1]):
            response = client.get(url)
        if response.status_code != 200:
            raise CommandError(f"{url} answered {response.status_code}")
        samples = []
        for _ in range(repeats):
            if uncached:
                cache.clear()
            began = time.perf_counter()
            client.get(url)
            samples.append((time.perf_counter() - began) * 1000)
        return round(statistics.median(samples), 1), len(queries), len(response.content)
