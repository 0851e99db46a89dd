"""Reads of deployments: lists with their run and figures, as the commands and the pages show them."""
from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from promotions.models import Deployment


def deployment_list(*, status: str | None = None) -> QuerySet[Deployment]:
    """Deployments, newest first, with their run's cohort and order counts (`order_count`, `filled_count`)."""
    deployments = (Deployment.objects.select_related("run__cohort", "bankroll", "request")
                   .annotate(order_count=Count("orders"), filled_count=Count("orders", filter=Q(orders__status="filled"))))
    return deployments.filter(status=status) if status else deployments


def deployment_brief(deployment: Deployment) -> dict:
    """One deployment, JSON-ready (amounts as strings)."""
    run = getattr(deployment, "run", None)
    return {
        "id": deployment.pk, "request": deployment.request_id, "status": deployment.status,
        "reason": deployment.status_reason,
        "mode": deployment.trading_mode, "broker": deployment.broker, "family": deployment.family,
        "symbols": deployment.symbols, "capital": str(deployment.capital),
        "max_drawdown": deployment.max_drawdown, "max_return_variance": deployment.max_return_variance,
        "started_at": deployment.started_at and deployment.started_at.isoformat(),
        "ends_at": deployment.ends_at.isoformat(),
        "finished_at": deployment.finished_at and deployment.finished_at.isoformat(),
        "cohort": run.cohort_id if run else None,
        "bar_at": run.bar_at.isoformat() if run and run.bar_at else None,
        "orders": getattr(deployment, "order_count", None), "filled": getattr(deployment, "filled_count", None),
    }
