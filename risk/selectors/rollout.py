"""Reads of the gradual rollout: a deployment's lineage (it and the deployments whose capital steps it continues)
and the capital steps along it."""
from __future__ import annotations

from django.db.models import QuerySet

from promotions.models import Deployment
from risk.models import RolloutStep


def rollout_lineage(deployment: Deployment) -> list[int]:
    """The ids of `deployment` and its predecessors, newest first."""
    ids, current = [], deployment.pk
    while current is not None:
        ids.append(current)
        current = Deployment.objects.filter(pk=current).values_list("predecessor_id", flat=True).first()
    return ids


def rollout_steps(deployment: Deployment) -> QuerySet[RolloutStep]:
    """Every capital step along the deployment's lineage, newest first: the first slice, each step up (awaiting,
    applied or refused) and each step down, with who asked and the request a step up waited for."""
    return (RolloutStep.objects.filter(deployment_id__in=rollout_lineage(deployment))
            .select_related("actor", "request").order_by("-created_at", "-id"))
