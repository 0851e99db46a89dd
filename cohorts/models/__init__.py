from cohorts.models.cohort import (
    COHORT_STATES,
    COHORT_TRANSITIONS,
    Agent,
    AgentHour,
    AllocationPolicy,
    Cohort,
    CohortCheckpoint,
    CohortEvent,
    CohortMode,
    CohortResult,
    CohortSettlement,
    CohortStatus,
    Fill,
    ParentWallet,
    SettlementKind,
    Side,
)
from cohorts.models.credentials import ProviderCredential
from cohorts.models.ledger import Account, AccountKind, Bankroll, Entry, LedgerTransaction, TransactionKind
from cohorts.models.market import AssetClass, Bar, Instrument, Session

__all__ = [
    "COHORT_STATES", "COHORT_TRANSITIONS", "Account", "AccountKind", "Agent", "AgentHour", "AllocationPolicy", "AssetClass", "Bankroll",
    "Bar", "Cohort", "CohortCheckpoint", "CohortEvent", "CohortMode", "CohortResult", "CohortSettlement", "CohortStatus", "Entry",
    "Fill", "Instrument", "LedgerTransaction", "ParentWallet", "ProviderCredential", "Session", "SettlementKind", "Side",
    "TransactionKind",
]
