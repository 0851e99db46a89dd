"""What the deployment tests compare: orders against the ledger's fills, and the bankroll's cash."""
from __future__ import annotations

from decimal import Decimal

from cohorts.models import Fill
from cohorts.selectors.ledger import account_balance
from cohorts.services.ledger import bankroll_cash_account
from promotions.models import Deployment, PaperAccount


def fill_orders(deployment: Deployment) -> list[tuple]:
    """The orders that carried engine fills: fill number, symbol, side, quantity, the engine's price."""
    return list(deployment.orders.filter(fill_number__isnull=False).order_by("fill_number")
                .values_list("fill_number", "symbol", "side", "qty", "expected_price"))


def ledger_fills(deployment: Deployment) -> list[tuple]:
    """The ledger's fills of the deployment's cohort, numbered as their keys: number, symbol, side, qty, price."""
    prefix = f"cohort:{deployment.run.cohort_id}:fill:"
    rows = Fill.objects.filter(cohort_id=deployment.run.cohort_id).values_list(
        "transaction__idempotency_key", "instrument__symbol", "side", "qty", "price")
    return sorted((int(key.removeprefix(prefix)), *rest) for key, *rest in rows)


def bankroll_cash(deployment: Deployment) -> Decimal:
    return account_balance(bankroll_cash_account(deployment.bankroll))


def broker_cash(deployment: Deployment) -> Decimal:
    return PaperAccount.objects.get(name=f"deployment-{deployment.pk}").cash
