"""Pure promotion maths: the Deflated Sharpe Ratio, walk-forward consistency, guard rails (numpy; no Django)."""
from .gate import (
    Check,
    Evidence,
    allocation_propose,
    deflated_sharpe,
    evaluate_checks,
    expected_max_sharpe,
    rank_scores,
    walk_forward_share,
)

__all__ = ["Check", "Evidence", "allocation_propose", "deflated_sharpe", "evaluate_checks", "expected_max_sharpe",
           "rank_scores", "walk_forward_share"]
