"""Pure risk maths: the leverage policy ladder, Value at Risk and stress losses, the pre-trade check (numpy;
no Django)."""

from .leverage import LeverageDecision, LeveragePolicy, Rule, leverage_decide, tier
from .pretrade import AccountState, Order, Reason, RiskLimits, Verdict, pretrade_check
from .var import (
    METHODS,
    StressResult,
    VarResult,
    correlation_to_one,
    gap_scenarios,
    historical_var,
    monte_carlo_var,
    stress_loss,
    stress_test,
)

__all__ = [
    "AccountState", "Order", "Reason", "RiskLimits", "Verdict", "pretrade_check",
    "METHODS", "LeverageDecision", "LeveragePolicy", "Rule", "StressResult", "VarResult", "correlation_to_one", "gap_scenarios",
    "historical_var",
    "leverage_decide", "monte_carlo_var", "stress_loss", "stress_test", "tier",
]
