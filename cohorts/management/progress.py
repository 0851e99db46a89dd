"""A terminal progress bar for management commands (silent when output is not a terminal)."""
from __future__ import annotations

from tqdm import tqdm


class ProgressBar:
    """Callable as a service's `progress(rows, total)`; close it when the work is done."""

    def __init__(self, description: str, unit: str = "row"):
        self._bar: tqdm | None = None
        self._description = description
        self._unit = unit

    def __call__(self, advance: int, total: int) -> None:
        if self._bar is None:
            self._bar = tqdm(total=total, desc=self._description, unit=self._unit, unit_scale=True, disable=None)
        self._bar.update(advance)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
