"""What the live-cohort tests compare: a cohort's fills, equity and settlement, as a user would see them."""
from __future__ import annotations

from cohorts.models import Cohort, Fill
from cohorts.services.cohorts import cohort_launch
from cohorts.services.inputs import cohort_input

HOURS_INPUT = {"bankroll": "10000", "agents": 10, "symbols": "BTC-USDT,ETH-USDT", "start": "2021-05-06T00:00:00Z",
               "end": "2021-05-06T02:00:00Z", "seed": 11}
HOUR_INPUT = {**HOURS_INPUT, "end": "2021-05-06T01:00:00Z"}  # its first hour (60 bars), for the quicker tests


def launch(mode: str, *, data: dict = HOURS_INPUT, user=None) -> Cohort:
    return cohort_launch(data=cohort_input(**data, mode=mode), user=user, run=False)


def fills_of(cohort: Cohort) -> list[tuple]:
    """Every Fill row in the order it was made: agent, symbol, time, side, quantity, price, fee."""
    return list(Fill.objects.filter(cohort=cohort).order_by("transaction__idempotency_key")
                .values_list("agent__index", "instrument__symbol", "ts", "side", "qty", "price", "fee",
                             "transaction__idempotency_key"))


def comparable(fills: list[tuple], cohort: Cohort) -> list[tuple]:
    """Fills with the cohort's id taken out of their ledger key, ordered by fill number."""
    prefix = f"cohort:{cohort.pk}:fill:"
    rows = [(*row[:-1], int(row[-1].removeprefix(prefix))) for row in fills]
    return sorted(rows, key=lambda row: row[-1])


def equity_of(cohort: Cohort) -> tuple:
    cohort.refresh_from_db()
    return cohort.final_equity, [a.final_equity for a in cohort.agents.order_by("index")]
