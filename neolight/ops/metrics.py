"""Prometheus metrics: /metrics, its access rule, and NeoLight's business figures (prefix `neolight_`).

HTTP metrics come from django-prometheus's middleware (`django_http_*`). Business figures are read when
Prometheus scrapes, by one collector making a few aggregate queries: the database, the cache and Redis are
shared by every Daphne and Celery process on every machine, so the figures are the same whichever process
answers, survive restarts, and need no bookkeeping in the code paths. The two durations (cohort runtime,
learning-cycle duration) are histograms built from the runtimes the database records for each run.

Several processes on one machine (Daphne workers): set PROMETHEUS_MULTIPROC_DIR to an empty directory
before they start (it must be emptied at every start), and the process-local metrics (django-prometheus's)
of all of them are merged on each scrape. Unset, the process's own registry answers.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Iterator

from celery.signals import task_failure
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.http import HttpResponse, HttpResponseForbidden
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

RUNTIME_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)  # seconds: cohort runs and learning cycles
TASK_FAILURES_KEY = "ops:task-failures:"  # + task name: a counter in the cache, shared by every worker
KOMBU_PRIORITY_SEP = "\x06\x16"  # kombu's Redis transport keeps priorities 3, 6, 9 in lists "<queue>\x06\x16<p>"


# --- access -----------------------------------------------------------------------------------------
def metrics_allowed(request) -> bool:
    """From an address in METRICS_ALLOWED_NETWORKS, or with `Authorization: Bearer <METRICS_TOKEN>`."""
    token = settings.METRICS_TOKEN
    sent = request.headers.get("Authorization", "")
    if token and sent.startswith("Bearer ") and hmac.compare_digest(sent[7:].strip().encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:  # a dual-stack listener reports ::ffff:127.0.0.1
        address = address.ipv4_mapped
    return any(address in ipaddress.ip_network(n, strict=False) for n in settings.METRICS_ALLOWED_NETWORKS)


@login_not_required
def metrics_view(request):
    """The Prometheus text format: this process's (or, in multiprocess mode, every process's) metrics and the
    business figures. 403 for anyone else."""
    if not metrics_allowed(request):
        return HttpResponseForbidden("Metrics are served to allowed networks or with the metrics token.\n")
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)


def metrics_text() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    return generate_latest(processes) + generate_latest(BUSINESS)


# --- task failures (counted in the cache, so every worker on every machine adds to one figure) ------------
@task_failure.connect
def count_task_failure(sender=None, **_kwargs) -> None:
    name = getattr(sender, "name", None) or str(sender)
    key = TASK_FAILURES_KEY + name
    try:
        cache.add(key, 0, None)
        cache.incr(key)
        seen = cache.get(TASK_FAILURES_KEY + "names") or []
        if name not in seen:
            cache.set(TASK_FAILURES_KEY + "names", sorted({*seen, name}), None)
    except Exception:  # noqa: BLE001 - a cache outage must not hide the task's own failure
        log.warning("task failure of %s not counted: the cache is unreachable", name)


# --- the business collector ---------------------------------------------------------------------------
class BusinessCollector(Collector):
    """NeoLight's figures, read at scrape time. A source that cannot be read (the database or Redis down) is
    left out and counted in neolight_scrape_errors, so the rest still reaches Prometheus."""

    def collect(self) -> Iterator:
        began = time.perf_counter()
        errors = GaugeMetricFamily("neolight_scrape_errors", "Sources that could not be read in this scrape",
                                   labels=["source"])
        for source, part in (("cohorts", cohort_metrics), ("ledger", ledger_metrics), ("capital", capital_metrics),
                             ("learning", learning_metrics), ("promotions", promotion_metrics),
                             ("alerts", alert_metrics), ("providers", provider_metrics), ("celery", celery_metrics),
                             ("heartbeats", heartbeat_metrics)):
            try:
                yield from list(part())
                errors.add_metric([source], 0)
            except Exception as exc:  # noqa: BLE001 - one source down must not blank the whole scrape
                log.warning("metrics: %s not read: %s", source, exc)
                errors.add_metric([source], 1)
        yield errors
        yield GaugeMetricFamily("neolight_scrape_duration_seconds", "Time spent reading the business figures",
                                value=time.perf_counter() - began)


def runtime_histogram(name: str, doc: str, queryset, field: str = "runtime_seconds") -> HistogramMetricFamily:
    """A histogram of the recorded runtimes of `queryset`'s rows, in one aggregate query."""
    counts = queryset.filter(**{f"{field}__isnull": False}).aggregate(
        total=Count("pk"), sum=Sum(field),
        **{f"le_{i}": Count("pk", filter=Q(**{f"{field}__lte": b})) for i, b in enumerate(RUNTIME_BUCKETS)})
    buckets = [(str(float(b)), counts[f"le_{i}"]) for i, b in enumerate(RUNTIME_BUCKETS)]
    return HistogramMetricFamily(name, doc, buckets=[*buckets, ("+Inf", counts["total"])],
                                 sum_value=counts["sum"] or 0.0)


def cohort_metrics() -> Iterator:
    from cohorts.models import Cohort, CohortStatus

    by_status = dict(Cohort.objects.order_by().values_list("status").annotate(n=Count("pk")))
    cohorts = GaugeMetricFamily("neolight_cohorts", "Cohorts by status", labels=["status"])
    for status in CohortStatus.values:
        cohorts.add_metric([status], by_status.get(status, 0))
    yield cohorts
    yield runtime_histogram("neolight_cohort_runtime_seconds", "Runtime of completed cohort runs",
                            Cohort.objects.filter(status=CohortStatus.COMPLETED))
    failed = Cohort.objects.aggregate(n=Sum("failed_agents"))["n"] or 0
    yield CounterMetricFamily("neolight_cohort_failed_agents", "Agents that failed in cohort runs", value=failed)


def ledger_metrics() -> Iterator:
    from cohorts.models import LedgerTransaction, TransactionKind

    by_kind = dict(LedgerTransaction.objects.order_by().values_list("kind").annotate(n=Count("pk")))
    postings = CounterMetricFamily("neolight_ledger_postings", "Balanced ledger transactions posted, by kind",
                                   labels=["kind"])
    for kind in TransactionKind.values:
        postings.add_metric([kind], by_kind.get(kind, 0))
    yield postings


def capital_metrics() -> Iterator:
    """Capital at work (pending and running cohorts, deployments not ended) and its share of each bankroll."""
    from cohorts.models import Account, AccountKind, Bankroll, Cohort, CohortStatus
    from cohorts.selectors.ledger import account_balances
    from promotions.models import DEPLOYMENT_ENDED, Deployment

    names = dict(Bankroll.objects.values_list("pk", "name"))
    cohorts = dict(Cohort.objects.filter(status__in=[CohortStatus.PENDING, CohortStatus.RUNNING]).order_by()
                   .values_list("source").annotate(total=Sum("wallet__bankroll")))
    deployments = dict(Deployment.objects.exclude(status__in=DEPLOYMENT_ENDED).order_by()
                       .values_list("bankroll").annotate(total=Sum("capital")))
    cash_accounts = dict(Account.objects.filter(kind=AccountKind.BANKROLL_CASH).values_list("pk", "bankroll"))
    cash = {cash_accounts[pk]: v for pk, v in account_balances(list(cash_accounts)).items()}
    at_work = GaugeMetricFamily("neolight_capital_at_work_usd", "Capital drawn from a bankroll and at work",
                                labels=["bankroll", "by"])
    utilisation = GaugeMetricFamily("neolight_bankroll_utilisation",
                                    "Capital at work / (cash + capital at work) of each bankroll", labels=["bankroll"])
    available = GaugeMetricFamily("neolight_bankroll_cash_usd", "A bankroll's cash, not at work", labels=["bankroll"])
    for pk, name in names.items():
        working = float(cohorts.get(pk) or 0) + float(deployments.get(pk) or 0)
        at_work.add_metric([name, "cohorts"], float(cohorts.get(pk) or 0))
        at_work.add_metric([name, "deployments"], float(deployments.get(pk) or 0))
        available.add_metric([name], float(cash.get(pk) or 0))
        total = working + float(cash.get(pk) or 0)
        utilisation.add_metric([name], working / total if total > 0 else 0.0)
    yield from (at_work, available, utilisation)


def learning_metrics() -> Iterator:
    from knowledge.models import CycleStatus, LearningCycle

    yield runtime_histogram("neolight_learning_cycle_duration_seconds", "Duration of completed learning cycles",
                            LearningCycle.objects.filter(status=CycleStatus.COMPLETED))
    by_status = dict(LearningCycle.objects.order_by().values_list("status").annotate(n=Count("pk")))
    cycles = GaugeMetricFamily("neolight_learning_cycles", "Learning cycles by status", labels=["status"])
    for status in CycleStatus.values:
        cycles.add_metric([status], by_status.get(status, 0))
    yield cycles


def promotion_metrics() -> Iterator:
    from promotions.models import Deployment, PromotionRequest, RequestStatus

    yield GaugeMetricFamily("neolight_approvals_pending", "Promotion requests awaiting signatures",
                            value=PromotionRequest.objects.filter(status=RequestStatus.PENDING).count())
    deployments = GaugeMetricFamily("neolight_deployments", "Deployments by trading mode and status",
                                    labels=["mode", "status"])
    rows = Deployment.objects.order_by().values_list("trading_mode", "status").annotate(n=Count("pk"))
    for mode, status, n in rows:
        deployments.add_metric([mode, status], n)
    yield deployments


def alert_metrics() -> Iterator:
    from risk.models import AlertDelivery

    deliveries = GaugeMetricFamily("neolight_alert_deliveries", "Alert deliveries by status and channel kind",
                                   labels=["status", "channel"])
    rows = AlertDelivery.objects.order_by().values_list("status", "channel__kind").annotate(n=Count("pk"))
    for status, channel, n in rows:
        deliveries.add_metric([status, channel], n)
    yield deliveries


def provider_metrics() -> Iterator:
    """The market-data providers' breakers, as every process sees them (their state lives in the cache)."""
    from cohorts.providers.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
    from cohorts.providers.registry import ADAPTERS

    state = GaugeMetricFamily("neolight_provider_breaker_state", "1 for each provider's breaker state",
                              labels=["provider", "state"])
    calls = CounterMetricFamily("neolight_provider_calls", "Calls to a market-data provider, by outcome",
                                labels=["provider", "outcome"])
    latency = GaugeMetricFamily("neolight_provider_last_latency_seconds", "Latency of a provider's last call",
                                labels=["provider"])
    for entry in settings.MARKET_DATA_PROVIDERS:
        name = entry.strip() if entry.strip() in ADAPTERS else entry.strip().rsplit(".", 1)[-1]
        snap = CircuitBreaker(name).snapshot()
        for s in (CLOSED, HALF_OPEN, OPEN):
            state.add_metric([name, s], 1 if snap.state == s else 0)
        calls.add_metric([name, "success"], snap.successes)
        calls.add_metric([name, "failure"], snap.failures)
        calls.add_metric([name, "other"], max(snap.calls - snap.successes - snap.failures, 0))
        if snap.last_latency_ms is not None:
            latency.add_metric([name], snap.last_latency_ms / 1000)
    yield from (state, calls, latency)


def celery_queue_names() -> list[str]:
    """The queues tasks are routed to: the declared ones, the routes' and the default."""
    from neolight.celery import app

    names = set(app.amqp.queues.keys()) | {app.conf.task_default_queue}
    routes = app.conf.task_routes
    if isinstance(routes, dict):
        names |= {r["queue"] for r in routes.values() if isinstance(r, dict) and r.get("queue")}
    return sorted(names)


def celery_metrics() -> Iterator:
    from neolight.celery import app

    broker = app.conf.broker_url or ""
    if broker.startswith(("redis://", "rediss://", "unix://")):
        import redis

        depth = GaugeMetricFamily("neolight_celery_queue_length", "Tasks waiting in a Celery queue",
                                  labels=["queue"])
        client = redis.Redis.from_url(broker, socket_timeout=2, socket_connect_timeout=2)
        try:
            with client.pipeline(transaction=False) as pipe:
                names = celery_queue_names()
                for name in names:
                    for key in (name, *(f"{name}{KOMBU_PRIORITY_SEP}{p}" for p in (3, 6, 9))):
                        pipe.llen(key)
                lengths = pipe.execute()
        finally:
            client.close()
        for i, name in enumerate(names):
            depth.add_metric([name], sum(lengths[4 * i: 4 * i + 4]))
        yield depth
    names = cache.get(TASK_FAILURES_KEY + "names") or []
    counts = cache.get_many([TASK_FAILURES_KEY + n for n in names])
    failures = CounterMetricFamily("neolight_celery_task_failures", "Celery tasks that raised, by task",
                                   labels=["task"])
    for name in names:
        failures.add_metric([name], counts.get(TASK_FAILURES_KEY + name, 0))
    yield failures


def heartbeat_metrics() -> Iterator:
    from neolight.ops.health import heartbeat_ages

    ages = GaugeMetricFamily("neolight_heartbeat_age_seconds", "Seconds since beat and a worker last checked in",
                             labels=["process"])
    for process, age in heartbeat_ages().items():
        if age is not None:
            ages.add_metric([process], age)
    yield ages


BUSINESS = CollectorRegistry(auto_describe=False)
BUSINESS.register(BusinessCollector())
