"""A deployment's books in the ledger: its cohort's accounts (the engine's fills) plus its execution accounts,
which carry what the broker's fills moved beyond the engine's.

Each order filled at the broker posts `deployment:D:execution:N`: the broker's cash flow minus the cash the
engine's fill N moved in the ledger, between `deployment:D:execution:cash` (an agent-cash kind of account:
it may go negative) and `deployment:D:execution:pnl` (realised PnL: the cost of executing at the broker's
prices instead of the model's). So the ledger's cash for a deployment — its agent's cash plus the execution
cash — is what the broker's books should hold. At the end `deployment:D:execution:final` trues the
execution cash up to the broker's flattening orders (and the engine's close-outs never sent), and
`deployment:D:execution:settle` moves it to the bankroll: the bankroll gets back exactly the cash the
deployment's orders left at the broker, the cohort's settlement plus this. Every key is posted once.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cohorts.models import Account, AccountKind, CohortSettlement, Entry, Fill, TransactionKind
from cohorts.selectors.ledger import account_balances
from cohorts.services.ledger import account_ensure, bankroll_cash_account, ledger_post
from neolight.money import quantize
from promotions.brokers.paper import order_cash
from promotions.models import BrokerName, Deployment, DeploymentOrder, DeploymentRun

ZERO = Decimal(0)


@dataclass(frozen=True)
class LedgerBook:
    """What the ledger says a deployment holds: cash, and the signed quantity of each symbol."""

    cash: Decimal
    positions: dict[str, Decimal]
    unsent: int  # fills in the ledger not yet sent to the broker (paused, or a broker that was unavailable)


def execution_accounts(deployment: Deployment):
    prefix = f"deployment:{deployment.pk}:execution"
    return (account_ensure(code=f"{prefix}:cash", kind=AccountKind.AGENT_CASH),
            account_ensure(code=f"{prefix}:pnl", kind=AccountKind.REALISED_PNL))


def fee_bps(run: DeploymentRun) -> Decimal:
    """The fee rate the deployment's broker charges: the paper broker charges the cohort's (its account was opened
    with it); Alpaca's paper trading charges no commission."""
    return run.cohort.wallet.fee_bps if run.deployment.broker == BrokerName.PAPER else ZERO


def fill_cash(run: DeploymentRun, number: int) -> Decimal:
    """The cash engine fill `number` of the deployment's cohort moved in the ledger (its agent-cash entry)."""
    return sum(Entry.objects.filter(transaction__idempotency_key=f"cohort:{run.cohort_id}:fill:{number}",
                                    account__code=agent_cash_code(run)).values_list("amount", flat=True), ZERO)


def agent_cash_code(run: DeploymentRun) -> str:
    return f"cohort:{run.cohort_id}:agent:0:cash"


def broker_cash(run: DeploymentRun, order: DeploymentOrder) -> Decimal:
    """The cash a recorded order moved at the broker (its fee by the broker's fee rate)."""
    if not order.filled_qty or order.filled_avg_price is None:
        return ZERO
    return order_cash(order.side, order.filled_qty, order.filled_avg_price, fee_bps(run))


def execution_post(*, run: DeploymentRun, order: DeploymentOrder) -> None:
    """Posts the difference between the broker's fill of `order` and the engine's fill it carries."""
    difference = broker_cash(run, order) - fill_cash(run, order.fill_number)
    _post(run.deployment, f"execution:{order.fill_number}", difference, TransactionKind.FILL,
          f"{order.mode} {order.side} {order.symbol}: broker vs model")


def ledger_book(run: DeploymentRun) -> LedgerBook:
    """The deployment's cash (its agent's cash plus its execution cash) and positions (its fills) in the ledger."""
    cash_account, _ = execution_accounts(run.deployment)
    codes = {agent_cash_code(run), cash_account.code}
    ids = Account.objects.filter(code__in=codes).values_list("pk", flat=True)
    cash = sum(account_balances(list(ids)).values(), ZERO)
    positions: dict[str, Decimal] = {}
    for symbol, side, qty in Fill.objects.filter(cohort_id=run.cohort_id).values_list("instrument__symbol", "side", "qty"):
        positions[symbol] = positions.get(symbol, ZERO) + (qty if side == "buy" else -qty)
    sent = DeploymentOrder.objects.filter(deployment=run.deployment, fill_number__isnull=False).count()
    unsent = Fill.objects.filter(cohort_id=run.cohort_id).count() - sent
    return LedgerBook(cash=quantize(cash), positions={s: q for s, q in positions.items() if q}, unsent=unsent)


def execution_settle(*, run: DeploymentRun) -> Decimal:
    """Trues the execution cash up to every order the deployment sent (flattening included), then moves it to
    the bankroll; call once the cohort is settled. Returns what the deployment's orders left at the broker."""
    deployment = run.deployment
    settlement = CohortSettlement.objects.get(cohort_id=run.cohort_id)
    at_broker = deployment.capital + sum((broker_cash(run, o) for o in deployment.orders.all()), ZERO)
    cash_account, _ = execution_accounts(deployment)
    held = account_balances([cash_account.pk]).get(cash_account.pk, ZERO)
    _post(deployment, "execution:final", at_broker - settlement.settled - held, TransactionKind.FILL,
          "flattening at the broker vs the model's close-out")
    target = at_broker - settlement.settled
    if target:
        bankroll = bankroll_cash_account(deployment.bankroll)
        ledger_post(key=f"deployment:{deployment.pk}:execution:settle", kind=TransactionKind.RETURN,
                    entries=[(bankroll, target), (cash_account, -target)],
                    memo=f"deployment {deployment.pk}: execution at the broker back to the bankroll")
    return at_broker


def _post(deployment: Deployment, suffix: str, amount: Decimal, kind: str, memo: str) -> None:
    if not amount:
        return
    cash_account, pnl_account = execution_accounts(deployment)
    ledger_post(key=f"deployment:{deployment.pk}:{suffix}", kind=kind,
                entries=[(cash_account, amount), (pnl_account, -amount)], memo=memo)
