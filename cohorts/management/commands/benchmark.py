"""manage.py benchmark engine|cohort|step|live|promotion_gate|risk --agents A --symbols S --days D [--json].

`engine` times the simulation kernel alone on a seeded market; `cohort` launches and runs a real cohort
on the bundled bars and prints the time of each phase from launch to the persisted summary; `step` times a live
simulation stepped bar by bar and its checkpoint; `live` runs a live-paper cohort on the replay clock and times
each bar from its arrival to its fills committed in the ledger and its progress broadcast; `promotion_gate` runs
seeded 3-day campaigns on synthetic markets without and with a planted edge and counts the Day-3 promotions proposed;
`risk` times the pre-trade risk check on seeded orders against seeded accounts, and the Monte Carlo VaR of a wallet
of --agents agents (--paths paths).
"""
import json
import resource
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.core.cache import cache as default_cache
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from cohorts.engine import Market, bench_engine, generate_market
from cohorts.engine.bench import bench_step
from cohorts.models import Bar, CohortMode, CohortResult, CohortStatus, Instrument
from cohorts.providers.service import QUOTE_KEY, QuoteService
from cohorts.providers.stored import StoredBarsProvider
from cohorts.services import cohorts as cohort_services
from cohorts.services import live as live_services
from cohorts.services.clocks import ReplayClock
from cohorts.services.cohorts import cohort_launch, cohort_run
from cohorts.services.inputs import cohort_input
from cohorts.services.live import cohort_run_live
from cohorts.services.market import bars_generate
from knowledge.models import CampaignStatus
from knowledge.services.campaigns import campaign_create, campaign_input, campaign_replay
from neolight.errors import ApplicationError
from promotions.services.candidates import (
    candidate_best,
    promote_intraday_candidate,
    promotion_guards,
    promotion_policy_default,
)
from risk.engine.portfolio import portfolio_monte_carlo
from risk.engine.pretrade import AccountState, Order, Reason, RiskLimits, pretrade_check

BUNDLED_CRYPTO = ["BTC-USDT", "ETH-USDT", "DOGE-USDT", "LTC-USDT", "XRP-USDT", "ADA-USDT"]
GATE_START = datetime(2030, 1, 7, tzinfo=UTC)  # synthetic bars only: no bundled or fetched symbol trades then
GATE_EDGE_BPS = 200.0  # stationary std of the planted mean-reverting component: ~13 bps a minute of pull at 1 std
# Families that trade a price's (or a spread's) reversion to its mean: the planted component pays them.
GATE_EXPLOITING = ("bollinger_reversion", "rsi_reversion", "vwap_scalper", "pairs_zscore")
# The service calls of a cohort run, as the run module names them, and the phase each one is.
RISK_TARGET_US, RISK_AIM_US = 1000, 50  # the pre-trade check per order: the target, and what it aims for
VAR_TARGET_MS = 1000  # Monte Carlo VaR: 100,000 paths for a 30-agent wallet
PHASES = {"bar_window": "read bars", "_simulate": "simulate", "cohort_post_fills": "post fills",
          "cohort_settle": "settle/return", "cohort_scores_save": "scores", "_persist": "persist"}


class Command(BaseCommand):
    help = (
        "engine: run the cohort-day benchmark workload through the simulation engine (parent rules "
        "non-binding) and report the median of 5 runs after a warm-up and the workload's checksum; bars "
        "from the seeded generator or --data (an .npz with open, high, low, close, volume of shape (T, S)). "
        "cohort: launch a cohort on the bundled bars (loaded first if absent), run it, and print each phase "
        "(launch, read bars, simulate, post fills, scores, settle/return, commit, total) and the peak RSS. "
        "step: replay a day of seeded bars with a cohort of every strategy family, then step --days days of "
        "bars one at a time; print the time per step (p50/p99 after a warm-up), the checkpoint's size and "
        "the time to make and resume it, and whether the live results equal the replay's exactly. "
        "live: launch a live-paper cohort on the bundled bars (--minutes of them from --start) driven by the "
        "replay clock without waits, and print per bar the time from its arrival to its fills committed in the "
        "ledger (with its checkpoint row) and the page's progress broadcast (p50/p99/max), and the time of each "
        "save of the engine's state, which follows the broadcast every few bars (p50/max). "
        "promotion_gate: --seeds seeded 3-day campaigns (--agents agents, --trials learning trials per family, two "
        "synthetic symbols) on random walks and on a market with a planted mean-reverting component; prints how "
        "many propose a Day-3 promotion at the promotion policy's thresholds, which families were proposed, and "
        "the time taken. "
        "risk: --orders seeded random orders (of --symbols symbols) through the pre-trade risk check against "
        "seeded accounts and limits; prints the per-order latency (p50/p99/max, µs) against the target (< 1 ms) "
        "and the aim (< 50 µs), and how many orders were accepted or refused, by reason; then the Monte Carlo VaR "
        "(95% and 99%) of a wallet of --agents agents over a day of seeded correlated returns with --paths paths "
        "(median of --repeats runs after a warm-up, target < 1 s)."
    )

    def add_arguments(self, parser):
        parser.add_argument("target", choices=["engine", "cohort", "step", "live", "promotion_gate", "risk"], help="what to benchmark")
        parser.add_argument("--agents", type=int, default=30, help="number of agents (default 30)")
        parser.add_argument("--symbols", default="10",
                            help="number of symbols (default 10), or for cohort a comma-separated list")
        parser.add_argument("--days", type=int, default=1, help="number of 24-hour days (default 1)")
        parser.add_argument("--data", help="engine: bars from this .npz instead of the generator")
        parser.add_argument("--repeats", type=int, default=5, help="engine: timed runs after the warm-up")
        parser.add_argument("--start", default="2021-05-06T00:00:00Z", help="cohort: window start (bundled data)")
        parser.add_argument("--minutes", type=int, default=240, help="live: bars of the window (default 240)")
        parser.add_argument("--seeds", type=int, default=20, help="promotion_gate: campaigns per market (default 20)")
        parser.add_argument("--trials", type=int, default=5,
                            help="promotion_gate: learning trials per family in each cycle (default 5)")
        parser.add_argument("--edge-bps", type=float, default=GATE_EDGE_BPS,
                            help="promotion_gate: size of the planted mean-reverting component, bps (default "
                                 f"{GATE_EDGE_BPS:g})")
        parser.add_argument("--orders", type=int, default=100_000, help="risk: orders checked (default 100000)")
        parser.add_argument("--seed", type=int, default=0, help="risk: seed of the accounts and orders (default 0)")
        parser.add_argument("--paths", type=int, default=100_000, help="risk: Monte Carlo paths (default 100000)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON line")

    def handle(self, *args, target, agents, symbols, days, as_json, **options):
        if agents < 1 or days < 1 or options["repeats"] < 1:
            raise CommandError("--agents, --days and --repeats must be positive")
        if target == "risk":
            report = pretrade_bench(orders=options["orders"], symbols=_count(symbols), seed=options["seed"])
            report["monte_carlo"] = var_bench(agents=agents, paths=options["paths"], repeats=options["repeats"],
                                              seed=options["seed"])
            return self._report_risk(report, as_json)
        if target == "promotion_gate":
            return self._report_gate(promotion_gate(agents=agents, seeds=options["seeds"], trials=options["trials"],
                                                    edge_bps=options["edge_bps"],
                                                    progress=None if as_json else self.stderr.write), as_json)
        if target == "step":
            report = bench_step(agents, _count(symbols), days)
        elif target == "live":
            report = self._live(agents, symbols, options["minutes"], options["start"])
        else:
            report = (self._engine(agents, symbols, days, options) if target == "engine"
                      else self._cohort(agents, symbols, days, options["start"]))
        if as_json:
            self.stdout.write(json.dumps(report))
        elif target == "step":
            self.stdout.write(
                f"{report['agents']} agents × {report['symbols']} symbols, {report['steps']} live steps after "
                f"{report['history_bars']} replayed bars: p50 {report['p50_ms']} ms, p99 {report['p99_ms']} ms "
                f"(first hour {report['first_hour_p50_ms']} ms, last hour {report['last_hour_p50_ms']} ms); "
                f"checkpoint {report['checkpoint_bytes']:,} bytes in {report['checkpoint_ms']} ms, resumed in "
                f"{report['resume_ms']} ms; identical to the replay: {report['identical_to_replay']}"
            )
        elif target == "live":
            self.stdout.write(
                f"live cohort {report['cohort']} ({report['status']}): {report['agents']} agents × "
                f"{len(report['symbols'])} symbols, {report['bars']} bars, {report['fills']:,} fills; bar arrival → "
                f"fills in the ledger and progress broadcast: p50 {report['p50_ms']} ms, p99 {report['p99_ms']} ms, "
                f"max {report['max_ms']} ms; engine state saved after the broadcast every "
                f"{live_services.CHECKPOINT_EVERY_BARS} bars ({report['state_saves']} times): p50 "
                f"{report['state_save_p50_ms']} ms, max {report['state_save_max_ms']} ms; "
                f"close-out, scores and settlement {report['finish_s']} s; "
                f"reconciled: {report['reconciled']}\n"
                f"quotes through the chain ({report['quotes']['provider']} provider, {report['quotes']['calls']} "
                f"per case): cold cache p50 {report['quotes']['cold_p50_ms']} ms, p99 {report['quotes']['cold_p99_ms']} "
                f"ms; warm cache p50 {report['quotes']['warm_p50_ms']} ms, p99 {report['quotes']['warm_p99_ms']} ms"
            )
        elif target == "engine":
            self.stdout.write(
                f"{report['agents']} agents × {report['symbols']} symbols × {report['bars']} bars: "
                f"{report['seconds']} s (warm-up {report['warmup_s']} s), "
                f"{report['cells_per_s']:,} cells/s, {report['checksum']}"
            )
        else:
            self.stdout.write(f"cohort {report['cohort']} ({report['status']}): {report['agents']} agents × "
                              f"{len(report['symbols'])} symbols × {report['days']} days, {report['fills']:,} fills")
            for phase, seconds in report["phases"].items():
                self.stdout.write(f"  {phase:<14} {seconds:8.3f} s")
            self.stdout.write(f"  peak RSS {report['peak_rss_mb']} MB, curves {report['curves_bytes']:,} bytes")

    def _engine(self, agents: int, symbols: str, days: int, options: dict) -> dict:
        count = _count(symbols)
        market = _load(options["data"]) if options["data"] else generate_market(count, days)
        return bench_engine(market, agents, repeats=options["repeats"])

    def _cohort(self, agents: int, symbols: str, days: int, start: str) -> dict:
        names = BUNDLED_CRYPTO[:_count(symbols)] if symbols.isdigit() else [s.strip() for s in symbols.split(",")]
        began = datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(UTC)
        if not Bar.objects.filter(instrument__symbol__in=names, ts__gte=began).exists():
            # In a child process, so the import's memory does not count towards this run's peak.
            subprocess.run([sys.executable, sys.argv[0], "load_sample_data"], check=True, stdout=subprocess.DEVNULL)
        timings: dict[str, float] = {}
        peaks: dict[str, float] = {"start": _peak_mb()}
        total = time.perf_counter()
        try:
            data = cohort_input(bankroll="100000", agents=agents, symbols=",".join(names), start=began,
                                end=began + timedelta(days=days))
            with transaction.atomic():
                cohort = cohort_launch(data=data, run=False)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        timings["launch"] = time.perf_counter() - total
        with _timed(cohort_services, PHASES, timings, peaks):
            cohort = cohort_run(cohort_id=cohort.pk)
        timings["total"] = time.perf_counter() - total
        # Whatever _persist spent outside the phases it calls: its own writes and the COMMIT's deferred checks.
        timings["commit"] = timings.pop("persist", 0.0) - sum(
            timings.get(p, 0.0) for p in ("post fills", "settle/return", "scores"))
        order = ["launch", "read bars", "simulate", "post fills", "scores", "settle/return", "commit", "total"]
        curves = CohortResult.objects.filter(cohort=cohort.pk).values_list("equity_curves", flat=True).first()
        return {
            "cohort": cohort.pk, "status": cohort.status, "reason": cohort.status_reason, "agents": agents,
            "symbols": names, "days": days, "fills": cohort.fills.count(),
            "phases": {p: round(timings.get(p, 0.0), 3) for p in order},
            "peak_rss_mb": _peak_mb(), "peak_rss_mb_after": peaks,
            "curves_bytes": len(curves or b""),
            "final_equity": str(cohort.final_equity or Decimal(0)), "reconciled": cohort.is_reconciled,
        } | ({} if cohort.status == CohortStatus.COMPLETED else {"failed": True})


    def _live(self, agents: int, symbols: str, minutes: int, start: str) -> dict:
        if minutes < 2:
            raise CommandError("--minutes must be at least 2")
        names = BUNDLED_CRYPTO[:_count(symbols)] if symbols.isdigit() else [s.strip() for s in symbols.split(",")]
        began = datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(UTC)
        if not Bar.objects.filter(instrument__symbol__in=names, ts__gte=began).exists():
            subprocess.run([sys.executable, sys.argv[0], "load_sample_data"], check=True, stdout=subprocess.DEVNULL)
        try:
            data = cohort_input(bankroll="100000", agents=agents, symbols=",".join(names), start=began,
                                end=began + timedelta(minutes=minutes), mode=CohortMode.LIVE)
            with transaction.atomic():
                cohort = cohort_launch(data=data, run=False)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        clock = _TimedClock()
        done: list[float] = []
        saves: list[float] = []
        with _durations(live_services, "_state_save", saves):
            cohort = cohort_run_live(cohort_id=cohort.pk, clock=clock,
                                     progress=lambda _: done.append(time.perf_counter()))
        finished = time.perf_counter()
        latencies = np.array(done) - np.array(clock.arrived[: len(done)])
        ms = (lambda q: round(float(np.percentile(latencies, q)) * 1000, 2)) if len(latencies) else (lambda q: None)
        return {
            "cohort": cohort.pk, "status": cohort.status, "reason": cohort.status_reason, "agents": agents,
            "symbols": names, "bars": len(done), "fills": cohort.fills.count(), "p50_ms": ms(50), "p99_ms": ms(99),
            "max_ms": ms(100), "finish_s": round(finished - (done[-1] if done else finished), 3),
            "state_saves": len(saves), "state_save_p50_ms": round(float(np.median(saves)) * 1000, 2) if saves else None,
            "state_save_max_ms": round(max(saves) * 1000, 2) if saves else None,
            "final_equity": str(cohort.final_equity or Decimal(0)), "reconciled": cohort.is_reconciled,
            "quotes": _quote_latency(names),
        } | ({} if cohort.status == CohortStatus.COMPLETED else {"failed": True})


    def _report_gate(self, report: dict, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(report))
            return
        for market in report["markets"]:
            proposed = ", ".join(f"{family} {n}" for family, n in market["families"].items()) or "none"
            self.stdout.write(
                f"{market['market']}: {market['proposed']} of {market['seeds']} campaigns propose a Day-3 promotion "
                f"(families proposed: {proposed}; of the edge-exploiting families: {market['exploiting']}); "
                f"{market['seconds']} s")
            blocked = ", ".join(f"{name} {n}" for name, n in market["blocked_by"].items())
            self.stdout.write(f"  checks failed by the top-ranked Day-3 agent: {blocked or 'none'}")
        self.stdout.write(f"{report['agents']} agents, {report['trials']} trials per family per cycle; "
                          f"thresholds {json.dumps(report['guards'])}; total {report['seconds']} s")

    def _report_risk(self, report: dict, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(report))
            return
        counts = ", ".join(f"{code} {n:,}" for code, n in report["reasons"].items())
        self.stdout.write(
            f"pre-trade check, {report['orders']:,} orders × {report['symbols']} symbols against {report['accounts']} "
            f"accounts (seed {report['seed']}): p50 {report['p50_us']} µs, p99 {report['p99_us']} µs, max "
            f"{report['max_us']} µs per order (target < {report['target_us']} µs: {report['meets_target']}; aim < "
            f"{report['aim_us']} µs: {report['meets_aim']})\n"
            f"accepted {report['accepted']:,}, refused {report['refused']:,}; by reason: {counts}")
        mc = report["monte_carlo"]
        self.stdout.write(
            f"Monte Carlo VaR, {mc['paths']:,} paths for a {mc['agents']}-agent wallet ({mc['observations']:,} "
            f"returns, {mc['horizon']}-minute horizon, 95% and 99%): median {mc['median_ms']} ms, best {mc['best_ms']} "
            f"ms of {mc['repeats']} (target < {mc['target_ms']} ms: {mc['meets_target']}); VaR 99% "
            f"{mc['var_99']:.4%} of the wallet")


def var_bench(*, agents: int, paths: int, repeats: int, seed: int, observations: int = 1440) -> dict:
    """Times `portfolio_monte_carlo` (both levels, one set of paths) on a wallet of `agents` agents with a day of
    seeded 1-minute returns sharing a common factor, equal capital shares; median and best of `repeats` runs."""
    if paths < 2:
        raise CommandError("--paths must be at least 2")
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0, 0.002, (observations, agents)) + rng.normal(0.0, 0.001, (observations, 1))
    weights = np.full(agents, 1.0 / agents)
    horizon = settings.RISK_VAR_HORIZON
    run = lambda: portfolio_monte_carlo(returns, weights, seed=seed, horizon=horizon, n_paths=paths)  # noqa: E731
    run()  # warm-up
    timings = []
    for _ in range(repeats):
        began = time.perf_counter()
        results = run()
        timings.append(time.perf_counter() - began)
    median_ms = round(float(np.median(timings)) * 1000, 1)
    return {"agents": agents, "paths": paths, "observations": observations, "horizon": horizon, "repeats": repeats,
            "median_ms": median_ms, "best_ms": round(min(timings) * 1000, 1), "target_ms": VAR_TARGET_MS,
            "meets_target": median_ms < VAR_TARGET_MS, "var_95": results[0.95].var, "var_99": results[0.99].var}


def pretrade_bench(*, orders: int, symbols: int, seed: int, accounts: int = 64) -> dict:
    """Times `pretrade_check` on `orders` seeded orders against `accounts` seeded accounts (positions, losses
    on the day, ladder tiers) with time.perf_counter_ns around each call; counts the verdicts by reason."""
    if orders < 1:
        raise CommandError("--orders must be positive")
    rng = np.random.default_rng(seed)
    names = [f"S{s:03d}" for s in range(symbols)]
    books = [_bench_account(rng, names) for _ in range(accounts)]
    picks = rng.integers(0, accounts, orders)
    work = [(_bench_order(rng, books[k][0], names), *books[k]) for k in picks]
    for order, state, limits in work[:1000]:  # warm-up
        pretrade_check(order, state, limits)
    latencies, reasons = np.empty(orders, dtype=np.int64), Counter()
    clock = time.perf_counter_ns
    for i, (order, state, limits) in enumerate(work):
        began = clock()
        verdict = pretrade_check(order, state, limits)
        latencies[i] = clock() - began
        reasons[verdict.code] += 1
    us = lambda q: round(float(np.percentile(latencies, q)) / 1000, 2)  # noqa: E731
    return {"orders": orders, "symbols": symbols, "accounts": accounts, "seed": seed, "p50_us": us(50),
            "p99_us": us(99), "max_us": us(100), "mean_us": round(float(latencies.mean()) / 1000, 2),
            "target_us": RISK_TARGET_US, "aim_us": RISK_AIM_US, "meets_target": us(99) < RISK_TARGET_US,
            "meets_aim": us(99) < RISK_AIM_US, "accepted": reasons[Reason.OK], "refused": orders - reasons[Reason.OK],
            "reasons": {str(code): reasons[code] for code in Reason}}


def _bench_account(rng: np.random.Generator, names: list[str]) -> tuple[AccountState, RiskLimits]:
    """A seeded account: equity 5k–50k, a day's P&L of -6%…+3%, half the symbols held long or short."""
    n = len(names)
    equity = float(rng.uniform(5_000, 50_000))
    prices = np.exp(rng.uniform(0, 10, n))
    held = rng.random(n) < 0.5
    positions = np.where(held, rng.normal(0, 0.3, n) * equity / prices, 0.0)
    state = AccountState(equity=equity, day_open_equity=equity / (1 + rng.uniform(-0.06, 0.03)),
                         positions=positions, prices=prices, symbols=tuple(names))
    limits = RiskLimits(exposure_limit=5.0, leverage_tier=float(rng.integers(2, 11)), market_exposure_limit=1.5,
                        daily_stop=0.05, cost_rate=0.0015)
    return state, limits


def _bench_order(rng: np.random.Generator, state: AccountState, names: list[str]) -> Order:
    """A seeded order on that account: by name or index, up to 3× equity of notional; 1% bad, 1% tiny."""
    s = int(rng.integers(len(names)))
    price = state.prices[s] * float(rng.uniform(0.99, 1.01))
    qty = float(rng.uniform(0, 3)) * state.equity / price
    roll = rng.random()
    if roll < 0.01:
        qty = float("nan")
    elif roll < 0.02:
        qty = 0.001 / price
    return Order(names[s] if roll < 0.5 else s, 1 if rng.random() < 0.5 else -1, qty, price)


def promotion_gate(*, agents: int, seeds: int, trials: int, edge_bps: float = GATE_EDGE_BPS, progress=None) -> dict:
    """Runs `seeds` seeded 3-day replay campaigns on each synthetic market (two symbols, no edge and a planted
    mean-reverting one), weighs each Day-3 cohort for promotion, and counts the campaigns that propose one."""
    if seeds < 1 or trials < 1:
        raise CommandError("--seeds and --trials must be positive")
    began = time.perf_counter()
    markets = []
    for label, reversion in (("random walks", 0.0), (f"mean-reverting edge ({edge_bps:g} bps)", edge_bps)):
        tag = f"E{edge_bps:g}".replace(".", "P") if reversion else "R"
        started, families, blocked, proposed = time.perf_counter(), Counter(), Counter(), 0
        for seed in range(seeds):
            best, top = _gate_campaign(seed=seed, tag=tag, reversion_bps=reversion, agents=agents, trials=trials)
            blocked.update(c.name for c in top.checks.all() if not c.passed)
            if best is not None:
                proposed += 1
                families[best.family] += 1
            if progress:
                progress(f"{label}, seed {seed}: " + (f"proposes agent {best.agent.index} ({best.family})"
                                                      if best else "no promotion"))
        markets.append({"market": label, "reversion_bps": reversion, "seeds": seeds, "proposed": proposed,
                        "families": dict(families.most_common()),
                        "exploiting": sum(n for f, n in families.items() if f in GATE_EXPLOITING),
                        "blocked_by": dict(blocked.most_common()), "seconds": round(time.perf_counter() - started, 1)})
    return {"agents": agents, "trials": trials, "guards": promotion_guards(promotion_policy_default()),
            "markets": markets, "seconds": round(time.perf_counter() - began, 1)}


def _gate_campaign(*, seed: int, tag: str, reversion_bps: float, agents: int, trials: int):
    """One seeded 3-day campaign on its own synthetic symbols (stored once); (best eligible, top-ranked) of Day 3."""
    prefix = f"G{tag}-{seed:03d}-"
    if not Instrument.objects.filter(symbol=f"{prefix}001").exists():
        bars_generate(symbols=2, days=3, seed=seed, start=GATE_START, prefix=prefix, reversion_bps=reversion_bps)
    try:
        data = campaign_input(bankroll="10000", days=3, start=GATE_START.date(), symbols=f"{prefix}001,{prefix}002",
                              agents=agents, lookback_hours=6, trials=trials, seed=seed,
                              name=f"promotion gate {tag} seed {seed}")
    except ApplicationError as exc:
        raise CommandError(exc.message) from None
    campaign = campaign_replay(campaign_id=campaign_create(data=data).pk)
    day = campaign.campaign_days.filter(number=3).select_related("cohort").first()
    if campaign.status != CampaignStatus.COMPLETED or day is None:
        raise CommandError(f"campaign {campaign.pk} ({tag}, seed {seed}) did not complete: {campaign.status_reason}")
    candidates = promote_intraday_candidate(day.cohort)
    return candidate_best(day.cohort), candidates[0]


def _quote_latency(symbols: list[str], calls: int = 200) -> dict:
    """Quote latency through the QuoteService (its breaker, its cache) over NeoLight's stored bars, so the figure
    is the chain's own cost, reproducible offline: cold (the symbol's cached quote deleted first) and warm."""
    chain = QuoteService([StoredBarsProvider(credentials=None)])
    cold, warm = [], []
    for n in range(calls):
        symbol = symbols[n % len(symbols)]
        default_cache.delete(f"{QUOTE_KEY}:{symbol}")
        began = time.perf_counter()
        chain.quote(symbol)
        cold.append(time.perf_counter() - began)
        began = time.perf_counter()
        answer = chain.quote(symbol)
        warm.append(time.perf_counter() - began)
        if not answer.cached:  # e.g. a cache that keeps nothing (dummy): the warm figure would mean nothing
            raise CommandError(f"The quote of {symbol} asked again at once did not come from the cache.")
    ms = lambda values, q: round(float(np.percentile(values, q)) * 1000, 3)  # noqa: E731
    return {"provider": "stored", "calls": calls, "cold_p50_ms": ms(cold, 50), "cold_p99_ms": ms(cold, 99),
            "warm_p50_ms": ms(warm, 50), "warm_p99_ms": ms(warm, 99)}


class _TimedClock(ReplayClock):
    """The replay clock without waits, noting when each bar arrives."""

    def __init__(self):
        super().__init__(0)
        self.arrived: list[float] = []

    def feed(self, **window):
        feed = super().feed(**window)
        arrivals = feed.arrivals

        def noted(start):
            for t in arrivals(start):
                self.arrived.append(time.perf_counter())
                yield t

        feed.arrivals = noted
        return feed


@contextmanager
def _durations(module, name: str, durations: list[float]):
    """Notes the duration of each call of `module.name` in `durations` while the block runs."""
    function = getattr(module, name)

    def timed(*args, **kwargs):
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            durations.append(time.perf_counter() - began)

    setattr(module, name, timed)
    try:
        yield
    finally:
        setattr(module, name, function)


@contextmanager
def _timed(module, names: dict[str, str], timings: dict[str, float], peaks: dict[str, float]):
    """Replaces `module`'s collaborators by wrappers noting their time and the peak RSS at their end."""
    originals = {name: getattr(module, name) for name in names}

    def wrap(name, function):
        def timed(*args, **kwargs):
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                timings[names[name]] = timings.get(names[name], 0.0) + time.perf_counter() - began
                peaks[names[name]] = _peak_mb()
        return timed

    for name, function in originals.items():
        setattr(module, name, wrap(name, function))
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(module, name, function)


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _count(symbols: str) -> int:
    if not symbols.isdigit() or int(symbols) < 1:
        raise CommandError("--symbols must be a positive number (or, for cohort, a list of symbols)")
    return int(symbols)


def _load(path: str) -> Market:
    try:
        with np.load(path) as arrays:
            return Market.from_arrays(arrays)
    except (OSError, KeyError, ValueError) as exc:
        raise CommandError(f"cannot read bars from {path}: {exc}") from None
