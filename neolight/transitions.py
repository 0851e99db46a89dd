"""The one way a status moves: under the row's lock, along an allowed-moves dict, with its stamps and an event.

Cohorts, campaigns and learning cycles declare a `StateMachine` beside their model; approval requests and
deployments will too. Nothing else writes a status: a bare `update(status=…)` would skip the lock and the
allowed moves, which is how a run that had already been failed once wrote "completed" over it.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.db import models, transaction

log = logging.getLogger("neolight.transitions")
Row = TypeVar("Row", bound=models.Model)


@dataclass(frozen=True)
class StateMachine(Generic[Row]):
    """The allowed moves of `model`'s status `field`; `moves[current]` lists the statuses it may move to."""

    model: type[Row]
    moves: Mapping[str, Collection[str]]
    field: str = "status"

    def can_move(self, current: str, to: str) -> bool:
        return to in self.moves.get(current, ())

    def move(self, pk, to: str, *, guard: Callable[[Row], bool] | None = None,
             event: Callable[[Row], None] | None = None, **stamps) -> Row | None:
        """Moves row `pk` to `to`, setting `stamps`, if the move is allowed and `guard(row)` holds on the locked row.

        Returns the updated row, or None with nothing written. `event(row)` runs after the commit that
        made the move (at once when no transaction is open). Atomic: inside a caller's transaction the
        row stays locked until that transaction ends, so later writes there are fenced too.
        """
        with transaction.atomic():
            row = self.model.objects.select_for_update().get(pk=pk)
            current = getattr(row, self.field)
            if not self.can_move(current, to) or (guard is not None and not guard(row)):
                log.info("%s %s: %s → %s refused", self.model.__name__, pk, current, to)
                return None
            setattr(row, self.field, to)
            for name, value in stamps.items():
                setattr(row, name, value)
            row.save(update_fields=[self.field, *stamps])
            log.info("%s %s: %s → %s", self.model.__name__, pk, current, to)
            if event is not None:
                transaction.on_commit(lambda: event(row))
        return row

    def lock(self, pk, *, status: str, guard: Callable[[Row], bool] | None = None) -> Row | None:
        """Locks row `pk` for the rest of the caller's transaction if it is in `status` and `guard` holds;
        None otherwise. Call inside `transaction.atomic()`: it fences the writes that follow."""
        row = self.model.objects.select_for_update().get(pk=pk)
        if getattr(row, self.field) != status or (guard is not None and not guard(row)):
            return None
        return row
