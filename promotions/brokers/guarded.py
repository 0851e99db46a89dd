"""The pre-trade risk check in front of a deployment's broker, and the books of a TEST deployment.

`GuardedBroker(inner, deployment=…)` runs `risk.engine.pretrade_check` before every `submit_order` and refuses with
`BrokerError(BrokerFailure.RISK, <the verdict's reason>)` — nothing reaches the broker. The account it checks: the
deployment's capital as the equity basis (on the bar path, the model's equity and the day's open equity, which
start at that capital), its positions at the broker, each symbol's last stored close at the broker's moment; the
limits: the exposure limit its run holds (1×), the leverage ladder's current tier for the deployment, each market
at most RISK_MARKET_EXPOSURE_LIMIT × equity, the daily stop at RISK_DAILY_LOSS_LIMIT. The subject's trading state
comes first: halted refuses every order; reducing refuses any order that does not only reduce a position. An order
that only reduces a position passes the limits (reduce-only semantics), and flattening
(`close_all_positions`) always passes.

`TestBroker` is what a TEST deployment has instead of a broker: no order leaves NeoLight. Its orders are the
deployment's `DeploymentOrder` rows, recorded at the model's prices with status "test"; its cash is the capital
plus the cash they moved (at the deployment's broker's fee rate, as the ledger's execution accounts count it),
its positions their signed sum, and flattening prices each at the last stored close moved by the slippage, as
NeoLight's paper broker would.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from cohorts.models import Bar
from neolight.money import quantize
from promotions.brokers.base import (
    Broker,
    BrokerAccount,
    BrokerError,
    BrokerFailure,
    BrokerOrder,
    BrokerPosition,
    OrderRequest,
)
from promotions.brokers.paper import BPS, order_cash
from promotions.models import BrokerName, Deployment, DeploymentOrder, DeploymentRun
from risk.engine.pretrade import AccountState, Order, Reason, RiskLimits, Verdict, pretrade_check
from risk.models import TradingState
from risk.selectors.guardian import trading_state
from risk.selectors.leverage import current_tier

ZERO = Decimal(0)
Moment = Callable[[], datetime | None]


def last_close(symbol: str, moment: datetime) -> Decimal | None:
    """The latest stored 1-minute close of `symbol` among the bars closed by `moment`."""
    return (Bar.objects.filter(instrument__symbol=symbol, ts__lte=moment - timedelta(minutes=1))
            .order_by("-ts").values_list("close", flat=True).first())


class GuardedBroker:
    """A deployment's broker behind the pre-trade risk check. `figures`, when set (the bar path sets it), gives the
    model's (equity, day's open equity); else both are the deployment's capital."""

    def __init__(self, inner: Broker, *, deployment: Deployment, as_of: Moment | None = None):
        self.inner, self.deployment, self._as_of = inner, deployment, as_of
        self.name = inner.name
        self.figures: Callable[[], tuple[float, float]] | None = None
        self._exposure_limit: float | None = None

    # --- the checked call ----------------------------------------------------------------------------------
    def submit_order(self, order: OrderRequest) -> BrokerOrder:
        refusal = self.refusal(order)
        if refusal is not None:
            raise BrokerError(BrokerFailure.RISK, refusal)
        return self.inner.submit_order(order)

    def refusal(self, order: OrderRequest) -> str | None:
        """Why `order` may not go to the broker now, or None."""
        state = trading_state(deployment=self.deployment.pk)
        positions = {p.symbol: float(p.qty) for p in self.inner.positions()}
        held = positions.get(order.symbol, 0.0)
        reduces = (held > 0 and order.side == "sell" or held < 0 and order.side == "buy") and float(order.qty) <= abs(held)
        if state == TradingState.HALTED:
            return f"Refused: deployment {self.deployment.pk} is halted (breaker or kill switch); no order is sent."
        if state == TradingState.REDUCING and not reduces:
            return (f"Refused: deployment {self.deployment.pk} is reduce-only; {order.side} {order.qty} {order.symbol} "
                    f"would add exposure (held {held:g}).")
        verdict = self.check(order, positions)
        return None if verdict.accepted else verdict.reason

    def check(self, order: OrderRequest, positions: dict[str, float]) -> Verdict:
        """The pure pre-trade check of `order` against the deployment's account and limits."""
        moment = self._moment()
        prices = {}
        for symbol in {*positions, order.symbol}:
            close = last_close(symbol, moment)
            if close is None:
                return Verdict(False, Reason.BAD_ORDER, f"Refused: no stored price of {symbol} to check the order against.")
            prices[symbol] = float(close)
        capital = float(self.deployment.capital)
        equity, day_open = self.figures() if self.figures is not None else (capital, capital)
        state = AccountState(equity=equity, day_open_equity=day_open, positions=positions, prices=prices)
        limits = RiskLimits(exposure_limit=self.exposure_limit(), leverage_tier=float(current_tier(deployment=self.deployment)),
                            market_exposure_limit=settings.RISK_MARKET_EXPOSURE_LIMIT,
                            daily_stop=settings.RISK_DAILY_LOSS_LIMIT)
        return pretrade_check(Order(order.symbol, order.side, float(order.qty), prices[order.symbol]), state, limits)

    def exposure_limit(self) -> float:
        if self._exposure_limit is None:
            self._exposure_limit = float(DeploymentRun.objects.filter(deployment=self.deployment)
                                         .values_list("cohort__wallet__exposure_limit", flat=True).first() or 1)
        return self._exposure_limit

    def _moment(self) -> datetime:
        return (self._as_of() if self._as_of is not None else None) or timezone.now()

    # --- passed through ------------------------------------------------------------------------------------
    def get_order(self, client_order_id: str) -> BrokerOrder:
        return self.inner.get_order(client_order_id)

    def account(self) -> BrokerAccount:
        return self.inner.account()

    def positions(self) -> list[BrokerPosition]:
        return self.inner.positions()

    def close_all_positions(self) -> list[BrokerOrder]:
        return self.inner.close_all_positions()  # flattening always passes

    def cancel_open_orders(self) -> int:
        return self.inner.cancel_open_orders()


class TestBroker:
    """A TEST deployment's books, kept from its test orders; `submit_order` refuses (the run records test orders)."""

    __test__ = False  # not a test class, whatever pytest thinks of its name
    name = "test"

    def __init__(self, *, deployment: Deployment, as_of: Moment | None = None):
        self.deployment, self._as_of = deployment, as_of

    def submit_order(self, order: OrderRequest) -> BrokerOrder:
        raise BrokerError(BrokerFailure.RISK, f"deployment {self.deployment.pk} is in TEST: no order goes to a broker")

    def get_order(self, client_order_id: str) -> BrokerOrder:
        row = DeploymentOrder.objects.filter(deployment=self.deployment, client_order_id=client_order_id).first()
        if row is None:
            raise BrokerError(BrokerFailure.NOT_FOUND, f"no order {client_order_id}", status=404)
        return BrokerOrder(client_order_id=row.client_order_id, broker_order_id=row.broker_order_id, symbol=row.symbol,
                           side=row.side, qty=row.qty, filled_qty=row.filled_qty,
                           filled_avg_price=row.filled_avg_price, status=row.status)

    def account(self) -> BrokerAccount:
        fee = self._fee_bps()
        cash = self.deployment.capital + sum(
            (order_cash(side, qty, price, fee) for side, qty, price in self._filled()), ZERO)
        equity = cash + sum((qty * (last_close(s, self._moment()) or ZERO) for s, qty in self._held().items()), ZERO)
        return BrokerAccount(cash=quantize(cash), equity=quantize(equity), buying_power=quantize(cash))

    def positions(self) -> list[BrokerPosition]:
        return [BrokerPosition(symbol=s, qty=q, avg_entry_price=ZERO) for s, q in sorted(self._held().items())]

    def close_all_positions(self) -> list[BrokerOrder]:
        slippage, orders = self._slippage_bps(), []
        for symbol, qty in sorted(self._held().items()):
            close = last_close(symbol, self._moment())
            if close is None:
                continue
            side = "sell" if qty > 0 else "buy"
            price = quantize(close * (1 + (1 if side == "buy" else -1) * slippage / BPS))
            orders.append(BrokerOrder(client_order_id=f"test-flatten-{uuid.uuid4().hex[:20]}", broker_order_id="",
                                      symbol=symbol, side=side, qty=abs(qty), filled_qty=abs(qty),
                                      filled_avg_price=price, status="test"))
        return orders

    def cancel_open_orders(self) -> int:
        return 0

    # --- the books -----------------------------------------------------------------------------------------
    def _filled(self) -> list[tuple[str, Decimal, Decimal]]:
        return list(DeploymentOrder.objects.filter(deployment=self.deployment, filled_qty__gt=0,
                                                   filled_avg_price__isnull=False)
                    .values_list("side", "filled_qty", "filled_avg_price"))

    def _held(self) -> dict[str, Decimal]:
        held: dict[str, Decimal] = {}
        for symbol, side, qty in DeploymentOrder.objects.filter(deployment=self.deployment, filled_qty__gt=0).values_list(
                "symbol", "side", "filled_qty"):
            held[symbol] = held.get(symbol, ZERO) + (qty if side == "buy" else -qty)
        return {s: q for s, q in held.items() if q}

    def _wallet(self):
        return DeploymentRun.objects.select_related("cohort__wallet").get(deployment=self.deployment).cohort.wallet

    def _fee_bps(self) -> Decimal:
        """The fee rate the ledger's execution accounts count for this deployment's broker (deploy_ledger.fee_bps)."""
        return self._wallet().fee_bps if self.deployment.broker == BrokerName.PAPER else ZERO

    def _slippage_bps(self) -> Decimal:
        return self._wallet().slippage_bps

    def _moment(self) -> datetime:
        return (self._as_of() if self._as_of is not None else None) or timezone.now()
