from cohorts.models.cohort import (
    COHORT_TRANSITIONS,
    Agent,
    AgentHour,
    AllocationPolicy,
    Cohort,
    CohortEvent,
    CohortStatus,
    Fill,
    ParentWallet,
    Side,
)
from cohorts.models.ledger import Account, AccountKind, Bankroll, Entry, LedgerTransaction, TransactionKind
from cohorts.models.market import AssetClass, Bar, Instrument

__all__ = [
    "COHORT_TRANSITIONS", "Account", "AccountKind", "Agent", "AgentHour", "AllocationPolicy", "AssetClass", "Bankroll",
    "Bar", "Cohort", "CohortEvent", "CohortStatus", "Entry", "Fill", "Instrument", "LedgerTransaction",
    "ParentWallet", "Side", "TransactionKind",
]
