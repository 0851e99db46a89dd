"""What to fund tomorrow: recent cohort outcomes, the capital governor's proposed bankroll per agent and family,
and the promotion requests still awaiting signatures."""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from assistant.selectors.approvals import pending_approvals
from cohorts.models import CohortStatus
from cohorts.selectors.cohorts import cohort_visible
from neolight.errors import ApplicationError
from risk.selectors.governor import governor_allocations

RECENT = 5  # completed cohorts shown as recent outcomes


def fund_tomorrow(*, user) -> dict:
    """`outcomes` (the latest completed cohorts), `allocation` (the governor's proposal for the latest completed
    cohort: per agent and summed per family, current → proposed, and the cash left over) and `approvals`."""
    done = cohort_visible(user).filter(status=CohortStatus.COMPLETED).defer("summary").order_by("-finished_at", "-id")
    outcomes = [{"id": c.pk, "bankroll": f"{c.wallet.bankroll:.2f}",
                 "final_equity": None if c.final_equity is None else f"{c.final_equity:.2f}", "roi": c.roi}
                for c in done[:RECENT]]
    try:
        governor = governor_allocations(user=user)
    except ApplicationError as exc:  # nothing the governor can weigh: say so rather than fail
        governor = {"cohort": None, "deployments": {"items": []}, "error": exc.message}
    return {"outcomes": outcomes, "allocation": _allocation(governor.get("cohort")),
            "deployments": governor.get("deployments", {}).get("items", []), "approvals": pending_approvals(user=user)}


def _allocation(cohort: dict | None) -> dict | None:
    if cohort is None:
        return None
    families: dict[str, dict[str, Decimal]] = defaultdict(lambda: {"current": Decimal(0), "proposed": Decimal(0)})
    for row in cohort["agents"]:
        families[row["family"]]["current"] += Decimal(row["current"])
        families[row["family"]]["proposed"] += Decimal(row["proposed"])
    agents = sorted(cohort["agents"], key=lambda r: Decimal(r["proposed"]), reverse=True)
    return {"cohort": cohort["id"], "total": cohort["total"], "cash": cohort["cash"],
            "agents": [{k: r[k] for k in ("agent", "family", "current", "proposed", "reason")} for r in agents],
            "families": [{"family": f, "current": f"{v['current']:.2f}", "proposed": f"{v['proposed']:.2f}"}
                         for f, v in sorted(families.items(), key=lambda kv: -kv[1]["proposed"])],
            "explanation": cohort.get("explanation", "")}
