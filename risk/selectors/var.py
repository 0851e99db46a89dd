"""Value at Risk and stress losses of a bankroll, a cohort's parent wallet or a deployment, from stored data.

What is measured (the returns are per 1-minute bar; a horizon of h compounds h of them):

- A cohort: its parent wallet. Historical VaR from the parent's equity curve; Monte Carlo from its agents' return
  matrix (weights: each agent's capital as a share of the wallet; the rest is cash), see
  `risk.engine.portfolio`. Value: the parent's latest equity. A completed cohort's curves are the stored ones; a
  running live cohort's are rebuilt from its fills and the stored bars up to its last bar; a cohort with neither
  has nothing to measure yet.
- A deployment: its live cohort (one agent), the same way. Value: its latest equity.
- A bankroll: the dollar swings of its latest RISK_VAR_BANKROLL_COHORTS cohorts' parent wallets, added up minute
  by minute where they overlap, as fractions of the bankroll's value now (its cash plus the capital at work).

Stress scenarios apply return shocks to the book: the symbols' positions as fractions of the value (shorts
negative) at the subject's last bar while it runs, else at the bar of its largest gross exposure (a completed run
ends flat; its largest book is what it risked). Scenarios: the replay of RISK_STRESS_CRASH_DAY from stored bars
(each symbol's return over the window in which the equal-weighted basket of every symbol with bars that day fell
most, peak to trough), ± gaps of RISK_STRESS_GAPS %, and correlation going to one (every symbol falls
RISK_STRESS_SIGMAS of its horizon volatility at once). Money goes through the engine's Decimal conversion.
Reports are cached per subject, its last bar and the parameters.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from django.conf import settings
from django.core.cache import cache
from django.db.models import Sum

from cohorts.engine.metrics import returns as bar_returns
from cohorts.models import Account, Bankroll, Bar, Cohort, CohortCheckpoint, CohortMode, CohortStatus, Fill
from cohorts.selectors.cohorts import cohort_curves, cohort_visible
from cohorts.selectors.ledger import account_balances
from cohorts.selectors.market import bar_window
from neolight.errors import ApplicationError
from neolight.money import to_cents
from promotions.models import Deployment
from risk.engine import correlation_to_one, gap_scenarios, historical_var, stress_test
from risk.engine.portfolio import LEVELS, portfolio_monte_carlo

KINDS = ("bankroll", "cohort", "deployment")
RETURN_FLOOR = -0.999999  # an agent whose equity went to zero (or below, on leverage) lost everything


class RiskForbidden(ApplicationError):
    status_code = 403


class RiskNotFound(ApplicationError):
    status_code = 404


@dataclass
class Equity:
    """Equity curves of a wallet: timestamps (T,) epoch s, parent (T,), agents (A, T), each agent's capital (A,),
    and the book: signed notional per symbol (T, S) in dollars."""

    timestamps: np.ndarray
    parent: np.ndarray
    agents: np.ndarray
    capital: np.ndarray
    bankroll: float
    symbols: tuple[str, ...] = ()
    notional: np.ndarray | None = None
    running: bool = False


@dataclass
class Book:
    """What a VaR report measures (module docstring)."""

    label: str
    value: Decimal = Decimal(0)
    returns: np.ndarray = field(default_factory=lambda: np.zeros(0))
    components: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0))
    positions: dict[str, float] = field(default_factory=dict)
    window: tuple[datetime, datetime] | None = None
    as_of: datetime | None = None
    notes: list[str] = field(default_factory=list)
    explanation: str = ""


# --- subjects and who may see them ---------------------------------------------------------------------
def var_subject(*, user, kind: str, subject_id: int):
    """The bankroll, cohort or deployment `user` may measure. A cohort: the cohorts API's visibility (404 for one
    they may not see, as there). A deployment: its live cohort's. A bankroll: whoever sees every cohort (else 403)."""
    if kind == "cohort":  # as the cohorts API: a cohort one may not see is one that is not there
        cohort = cohort_visible(user).filter(pk=subject_id).first()
        if cohort is None:
            raise RiskNotFound(f"There is no cohort {subject_id} you may see.", field="cohort")
        return cohort
    if kind == "deployment":  # visible with its live cohort
        deployment = Deployment.objects.select_related("run__cohort").filter(pk=subject_id).first()
        run = getattr(deployment, "run", None)
        if deployment is None or not (user.has_perm("cohorts.view_cohort")
                                      or (run and cohort_visible(user).filter(pk=run.cohort_id).exists())):
            raise RiskNotFound(f"There is no deployment {subject_id} you may see.", field="deployment")
        return deployment
    if kind == "bankroll":
        bankroll = Bankroll.objects.filter(pk=subject_id).first()
        if bankroll is None:
            raise RiskNotFound(f"There is no bankroll {subject_id}.", field="bankroll")
        if not user.has_perm("cohorts.view_cohort"):
            raise RiskForbidden("A bankroll's risk is shown to those who may see every cohort.", field="bankroll")
        return bankroll
    raise ApplicationError(f"Name one of {', '.join(KINDS)}.", field="subject")


# --- the report ------------------------------------------------------------------------------------------
def var_report(subject, *, horizon: int | None = None, paths: int | None = None) -> dict:
    """Historical and Monte Carlo VaR/CVaR at 95% and 99% and the stress losses of a bankroll, cohort or deployment,
    JSON-ready (money as decimal strings; fractions as floats). Without data: empty figures and `explanation`."""
    horizon = horizon or settings.RISK_VAR_HORIZON
    paths = paths or settings.RISK_VAR_PATHS
    kind = _kind(subject)
    key = f"risk:var:{kind}:{subject.pk}:{_version(kind, subject)}:{horizon}:{paths}:{settings.RISK_VAR_SEED}"
    report = cache.get(key)
    if report is None:
        report = _report(kind, subject, horizon, paths)
        cache.set(key, report, settings.RISK_VAR_CACHE_SECONDS)
    return report


def _report(kind: str, subject, horizon: int, paths: int) -> dict:
    book = {"cohort": cohort_book, "deployment": deployment_book, "bankroll": bankroll_book}[kind](subject)
    report = {"subject": {"kind": kind, "id": subject.pk, "label": book.label}, "value": str(to_cents(book.value)),
              "horizon": horizon, "paths": paths, "seed": settings.RISK_VAR_SEED, "observations": int(book.returns.size),
              "as_of": book.as_of.isoformat() if book.as_of else None, "historical": {}, "monte_carlo": {},
              "stress": [], "positions": {s: round(w, 6) for s, w in book.positions.items()},
              "explanation": book.explanation, "notes": list(book.notes)}
    if book.explanation:
        return report
    value = book.value
    if book.returns.size >= horizon:
        report["historical"] = _figures(historical_var(book.returns, level=level, horizon=horizon, portfolio_value=value)
                                        for level in LEVELS)
    else:
        report["notes"].append(f"Historical VaR needs at least {horizon} returns for a {horizon}-minute horizon; "
                               f"there are {book.returns.size}.")
    if book.components.shape[0] >= 2:
        results = portfolio_monte_carlo(book.components, book.weights, seed=settings.RISK_VAR_SEED, horizon=horizon,
                                        n_paths=paths, portfolio_value=value)
        report["monte_carlo"] = _figures(results.values())
    else:
        report["notes"].append("Monte Carlo needs at least 2 returns to fit its model.")
    report["stress"] = stress_report(book, horizon)
    return report


def _figures(results) -> dict:
    return {f"{round(r.level * 100)}": {"var": str(r.var_amount), "cvar": str(r.cvar_amount),
                                        "var_fraction": r.var, "cvar_fraction": r.cvar, "method": r.method,
                                        "samples": r.samples} for r in results}


def _kind(subject) -> str:
    return {Cohort: "cohort", Deployment: "deployment", Bankroll: "bankroll"}[type(subject)]


def _version(kind: str, subject) -> str:
    """What changes when new bars or results arrive for the subject: the cache key's part that moves."""
    if kind == "cohort":
        return _cohort_version(subject.pk)
    if kind == "deployment":
        run = getattr(subject, "run", None)
        return f"{subject.status}:{_cohort_version(run.cohort_id) if run else '-'}"
    rows = Cohort.objects.filter(source=subject).order_by("-id").values_list("id", "status", "progress")[:50]
    return hashlib.sha256(repr(list(rows)).encode()).hexdigest()[:16]  # the same in every process


def _cohort_version(cohort_id: int) -> str:
    status, progress = Cohort.objects.filter(pk=cohort_id).values_list("status", "progress").get()
    bar = CohortCheckpoint.objects.filter(cohort=cohort_id).values_list("bar", flat=True).first()
    return f"{cohort_id}:{status}:{progress}:{bar}"


# --- books ------------------------------------------------------------------------------------------------
def cohort_book(cohort: Cohort) -> Book:
    """The parent wallet of a cohort: its equity curve, its agents' returns and capital shares, its book."""
    book = Book(label=f"Cohort {cohort.pk}", window=(cohort.window_start, cohort.window_end))
    equity = cohort_equity(cohort)
    if equity is None or equity.parent.size == 0:
        book.explanation = (f"Cohort {cohort.pk} is {cohort.status} and has no equity curve yet: VaR is measured "
                            "once it has traded (a live cohort from its first bar, a replay when it completes).")
        return book
    return _filled(book, equity)


def deployment_book(deployment: Deployment) -> Book:
    """A deployment: its live cohort's one agent."""
    book = Book(label=f"Deployment {deployment.pk}")
    run = getattr(deployment, "run", None)
    equity = cohort_equity(run.cohort) if run else None
    if equity is None or equity.parent.size == 0:
        book.explanation = (f"Deployment {deployment.pk} is {deployment.get_status_display().lower()} and has "
                            "traded no bar yet: VaR is measured from its first bar.")
        return book
    book.window = (run.cohort.window_start, run.cohort.window_end)
    return _filled(book, equity)


def _filled(book: Book, equity: Equity) -> Book:
    start = np.array([equity.bankroll])
    book.returns = np.maximum(bar_returns(equity.parent[None, :], start)[0], RETURN_FLOOR)
    book.components = np.maximum(bar_returns(equity.agents, equity.capital).T, RETURN_FLOOR)
    book.weights = np.clip(equity.capital / equity.bankroll, 0, None) if equity.bankroll > 0 else equity.capital * 0
    book.weights = book.weights / max(1.0, float(book.weights.sum()))
    book.value = to_cents(Decimal(repr(float(equity.parent[-1]))))
    book.as_of = datetime.fromtimestamp(int(equity.timestamps[-1]), tz=UTC) + timedelta(minutes=1)
    book.positions, note = _positions(equity)
    book.notes.append(note)
    if equity.parent[-1] <= 0:
        book.explanation = f"{book.label} has no equity left to lose."
    return book


def bankroll_book(bankroll: Bankroll) -> Book:
    """A bankroll: its latest cohorts' dollar swings added up per minute, as fractions of its value now."""
    book = Book(label=f"Bankroll {bankroll.name}", value=bankroll_value(bankroll))
    cohorts = list(Cohort.objects.filter(source=bankroll).exclude(status=CohortStatus.FAILED)
                   .select_related("wallet").order_by("-window_end", "-id")[:settings.RISK_VAR_BANKROLL_COHORTS])
    frames, books = [], []
    for cohort in cohorts:
        equity = cohort_equity(cohort, book=cohort.status == CohortStatus.RUNNING)
        if equity is None or equity.parent.size == 0:
            continue
        previous = np.concatenate(([equity.bankroll], equity.parent[:-1]))
        frames.append(pd.DataFrame({"ts": equity.timestamps, "pnl": equity.parent - previous}))
        books.append((cohort, equity))
    if not frames or book.value <= 0:
        book.explanation = (f"Bankroll {bankroll.name} has no cohort with an equity curve yet: its VaR adds up its "
                            "cohorts' swings, so it is measured once a cohort has traded.")
        return book
    pnl = pd.concat(frames).groupby("ts")["pnl"].sum().sort_index()
    book.returns = np.maximum(pnl.to_numpy() / float(book.value), RETURN_FLOOR)
    book.components, book.weights = book.returns[:, None], np.ones(1)
    book.as_of = datetime.fromtimestamp(int(pnl.index[-1]), tz=UTC) + timedelta(minutes=1)
    book.window = (cohorts[-1].window_start, cohorts[0].window_end)
    book.notes.append(f"Swings of {len(frames)} cohort(s) over {pnl.size:,} minutes, as fractions of today's "
                      f"${book.value:,.2f}.")
    running = [equity for _, equity in books if equity.running] or [cohort_equity(books[0][0])]
    dollars: dict[str, float] = {}
    for equity in running:
        at = -1 if equity.running else int(np.argmax(np.abs(equity.notional).sum(axis=1)))
        for symbol, amount in zip(equity.symbols, equity.notional[at], strict=True):
            dollars[symbol] = dollars.get(symbol, 0.0) + float(amount)
    book.positions = {s: d / float(book.value) for s, d in dollars.items() if d}
    book.notes.append("Book: the running cohorts' positions now." if running[0].running
                      else "Book: the latest cohort's largest position (nothing runs now).")
    return book


def bankroll_value(bankroll: Bankroll) -> Decimal:
    """A bankroll's cash plus the capital its pending and running cohorts hold, in cents."""
    cash = Account.objects.filter(code=f"bankroll:{bankroll.pk}:cash").values_list("pk", flat=True).first()
    at_work = (Cohort.objects.filter(source=bankroll, status__in=[CohortStatus.PENDING, CohortStatus.RUNNING])
               .aggregate(total=Sum("wallet__bankroll"))["total"] or Decimal(0))
    return to_cents((account_balances([cash]).get(cash, Decimal(0)) if cash else Decimal(0)) + at_work)


def _positions(equity: Equity) -> tuple[dict[str, float], str]:
    gross = np.abs(equity.notional).sum(axis=1)
    if equity.running:
        at, note = len(gross) - 1, "Book: the positions at the last bar."
    else:
        at = int(np.argmax(gross))
        moment = datetime.fromtimestamp(int(equity.timestamps[at]), tz=UTC)
        note = f"Book: the largest position the run held ({moment:%Y-%m-%d %H:%M} UTC); it ended flat."
    value = equity.parent[at]
    if value <= 0:
        return {}, note
    return {s: float(n / value) for s, n in zip(equity.symbols, equity.notional[at], strict=True) if n}, note


# --- equity curves -------------------------------------------------------------------------------------
def cohort_equity(cohort: Cohort, *, book: bool = True) -> Equity | None:
    """A cohort's curves: the stored ones once it completed, rebuilt from its fills while a live one runs; with
    `book`, its positions × closes per bar too (from its fills and the stored bars). None when it has neither."""
    stored = cohort_curves(cohort) if cohort.status == CohortStatus.COMPLETED else None
    running = cohort.status == CohortStatus.RUNNING and cohort.mode == CohortMode.LIVE
    if stored is None and not running:
        return None
    if stored is None:
        bars = CohortCheckpoint.objects.filter(cohort=cohort).values_list("bar", flat=True).first()
        return _rebuilt(cohort, bars) if bars else None
    capital = np.array([float(c) for c in cohort.agents.order_by("index").values_list("capital", flat=True)])
    equity = Equity(timestamps=stored["timestamps"], parent=stored["parent"], agents=stored["agents"],
                    capital=capital, bankroll=float(cohort.wallet.bankroll), symbols=tuple(sorted(cohort.symbols)),
                    notional=np.zeros((stored["parent"].size, len(cohort.symbols))))
    if book:
        rebuilt = _rebuilt(cohort, None)
        if rebuilt.notional.shape[0] == stored["parent"].size:  # else the stored bars moved since: no book
            equity.symbols, equity.notional = rebuilt.symbols, rebuilt.notional
    return equity


def _rebuilt(cohort: Cohort, bars: int | None) -> Equity:
    """Curves and book from the fills: cash moves by each fill's price × quantity and fee; positions are
    valued at each bar's close. `bars`: the first this many bars of the window (all when None)."""
    window = bar_window(symbols=list(cohort.symbols), start=cohort.window_start, end=cohort.window_end)
    every = window.timestamps.astype("datetime64[s]").astype(np.int64)  # a fill's bar is found among all of them
    close = window.close[:bars] if bars else window.close
    stamps = every[: len(close)]
    agents = list(cohort.agents.order_by("index").values_list("index", "capital"))
    capital = np.array([float(c) for _, c in agents])
    order = {index: row for row, (index, _) in enumerate(agents)}
    columns = {s: k for k, s in enumerate(window.symbols)}
    count, steps, width = len(agents), len(stamps), len(window.symbols)
    cash, held = np.zeros((count, steps)), np.zeros((count, steps, width))
    rows = list(Fill.objects.filter(cohort=cohort).values_list("agent__index", "instrument__symbol", "ts", "side",
                                                                "qty", "price", "fee"))
    if rows:
        index, symbol, ts, side, qty, price, fee = zip(*rows, strict=True)
        t = np.searchsorted(every, np.array([int(moment.timestamp()) for moment in ts]), side="right") - 1
        a = np.array([order[i] for i in index])
        k = np.array([columns.get(name, -1) for name in symbol])
        signed = np.where(np.array(side) == "buy", 1.0, -1.0) * np.array(qty, dtype=np.float64)
        flow = signed * np.array(price, dtype=np.float64) + np.array(fee, dtype=np.float64)
        keep = (t >= 0) & (t < steps) & (k >= 0)
        np.add.at(cash, (a[keep], t[keep]), -flow[keep])
        np.add.at(held, (a[keep], t[keep], k[keep]), signed[keep])
    held = np.cumsum(held, axis=1)
    positions = held * close[None, :, :]
    agent_equity = capital[:, None] + np.cumsum(cash, axis=1) + positions.sum(axis=2)
    bankroll = float(cohort.wallet.bankroll)
    parent = bankroll - capital.sum() + agent_equity.sum(axis=0)
    return Equity(timestamps=stamps, parent=parent, agents=agent_equity, capital=capital, bankroll=bankroll,
                  symbols=tuple(window.symbols), notional=positions.sum(axis=0), running=bars is not None)


# --- stress ----------------------------------------------------------------------------------------------
def stress_report(book: Book, horizon: int) -> list[dict]:
    """The crash replay, the gaps and correlation-to-one on the book, each with its loss and its shocks."""
    scenarios: dict[str, dict[str, float]] = {}
    crash = crash_shocks(date.fromisoformat(settings.RISK_STRESS_CRASH_DAY))
    if crash is not None:
        shocks, start, end = crash
        scenarios[f"replay of the {settings.RISK_STRESS_CRASH_DAY} crash ({start:%H:%M}–{end:%H:%M} UTC)"] = shocks
    else:
        book.notes.append(f"No stored bars of {settings.RISK_STRESS_CRASH_DAY}: its crash cannot be replayed.")
    symbols = sorted(book.positions)
    gaps = tuple(g / 100 for g in settings.RISK_STRESS_GAPS)
    scenarios.update(gap_scenarios(symbols, gaps))
    volatilities = _volatilities(symbols, book.window, horizon)
    scenarios[f"correlation to one ({settings.RISK_STRESS_SIGMAS:g}σ of each symbol's {horizon}-minute moves at "
              "once)"] = correlation_to_one(volatilities, sigmas=settings.RISK_STRESS_SIGMAS)
    results = stress_test(book.positions, scenarios, portfolio_value=book.value)
    return [{"name": r.name, "loss": str(r.loss_amount), "loss_fraction": r.loss,
             "shocks": {s: round(v, 6) for s, v in scenarios[r.name].items()}} for r in results]


def crash_shocks(day: date) -> tuple[dict[str, float], datetime, datetime] | None:
    """Each symbol's return over `day`'s worst window (module docstring), from the stored bars; None without bars."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    key = f"risk:crash:{day.isoformat()}:{Bar.objects.filter(ts__gte=start, ts__lt=start + timedelta(days=1)).count()}"
    found = cache.get(key)
    if found is None:
        found = _crash(start) or ()
        cache.set(key, found, settings.RISK_VAR_CACHE_SECONDS)
    return found or None


def _crash(start: datetime) -> tuple[dict[str, float], datetime, datetime] | None:
    end = start + timedelta(days=1)
    symbols = list(Bar.objects.filter(ts__gte=start, ts__lt=end).values_list("instrument__symbol", flat=True)
                   .distinct())
    if not symbols:
        return None
    window = bar_window(symbols=symbols, start=start, end=end)
    if len(window.close) < 2:
        return None
    basket = (window.close / window.close[0]).mean(axis=1)
    trough = int(np.argmin(basket / np.maximum.accumulate(basket)))
    peak = int(np.argmax(basket[: trough + 1]))
    shocks = {s: float(window.close[trough, k] / window.close[peak, k] - 1) for k, s in enumerate(window.symbols)}
    moment = lambda i: pd.Timestamp(window.timestamps[i]).tz_localize(UTC).to_pydatetime()  # noqa: E731
    return shocks, moment(peak), moment(trough) + timedelta(minutes=1)


def _volatilities(symbols: list[str], window: tuple[datetime, datetime] | None, horizon: int) -> dict[str, float]:
    """Each symbol's standard deviation of `horizon`-minute returns over the window (√horizon × the 1-minute one)."""
    if not symbols or window is None:
        return {s: 0.0 for s in symbols}
    bars = bar_window(symbols=symbols, start=window[0], end=window[1])
    if len(bars.close) < 3:
        return {s: 0.0 for s in symbols}
    steps = np.diff(np.log(bars.close), axis=0)
    scale = np.sqrt(horizon)
    return {s: float(np.expm1(steps[:, k].std(ddof=1) * scale)) for k, s in enumerate(bars.symbols)}
