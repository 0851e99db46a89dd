"""The automatic-rollback rule a deployment's every bar is checked against (no database)."""
from __future__ import annotations

import pytest

from promotions.services.deployments import equity_breach


@pytest.mark.parametrize("curve, limits, breach", [
    ([100, 101, 100.5], {"max_drawdown": 0.01}, None),  # 0.5% below the peak
    ([100, 101, 99.9], {"max_drawdown": 0.01}, "drawdown 1.0891%"),
    ([100, 100.1, 100.2, 100.3], {"max_return_variance": 1e-9}, None),  # steady returns
    ([100, 103, 99, 104], {"max_return_variance": 1e-4}, "variance of 1-minute returns"),
])
def test_equity_breaches_are_drawdown_from_the_running_peak_or_the_variance_of_returns(curve, limits, breach):
    found = equity_breach(curve, **{"max_drawdown": 1.0, "max_return_variance": 1.0, **limits})
    assert (found is None) if breach is None else found.startswith(breach)
