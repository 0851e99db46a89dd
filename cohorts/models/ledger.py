"""The double-entry ledger: accounts, balanced append-only transactions, signed entries.

Amounts are signed Decimal: a debit is positive, a credit negative, so every transaction's entries
sum to zero. Balances are sums in a selector, never stored. Corrections are new, reversing
transactions. On PostgreSQL the database itself refuses UPDATE, DELETE and TRUNCATE of ledger rows,
any statement that leaves a transaction unbalanced, entries added to a transaction posted earlier,
and at commit empty transactions and overdrafts (migrations 0003 and 0006).
"""
from django.db import models

from neolight.money import MoneyField


class Bankroll(models.Model):
    """The desk's capital that cohorts draw their parent wallets from; its cash is a ledger account."""

    name = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class AccountKind(models.TextChoices):
    EXTERNAL_CAPITAL = "external_capital", "External capital"  # equity: money put in from outside
    BANKROLL_CASH = "bankroll_cash", "Bankroll cash"
    PARENT_CASH = "parent_cash", "Parent wallet cash"
    AGENT_CASH = "agent_cash", "Agent cash"
    AGENT_POSITION = "agent_position", "Agent position at cost"
    FEES = "fees", "Fees"
    REALISED_PNL = "realised_pnl", "Realised PnL"


# Kinds whose balance may go below zero: capital is credit-normal, agents may borrow (leverage) and
# sell short, PnL is income either way. Cash of the bankroll and of a parent wallet never goes negative.
NEGATIVE_ALLOWED = {
    AccountKind.EXTERNAL_CAPITAL, AccountKind.AGENT_CASH, AccountKind.AGENT_POSITION, AccountKind.REALISED_PNL,
}


class Account(models.Model):
    code = models.CharField(max_length=120, unique=True, help_text="e.g. cohort:12:agent:3:cash")
    kind = models.CharField(max_length=20, choices=AccountKind.choices)
    bankroll = models.ForeignKey(Bankroll, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts")
    cohort = models.ForeignKey("cohorts.Cohort", null=True, blank=True, on_delete=models.PROTECT, related_name="accounts")
    agent = models.ForeignKey("cohorts.Agent", null=True, blank=True, on_delete=models.PROTECT, related_name="accounts")
    instrument = models.ForeignKey("cohorts.Instrument", null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        indexes = [models.Index(fields=["cohort", "kind"])]

    def __str__(self) -> str:
        return self.code

    @property
    def may_be_negative(self) -> bool:
        return self.kind in NEGATIVE_ALLOWED


class TransactionKind(models.TextChoices):
    FUNDING = "funding", "Funding"
    DRAW = "draw", "Capital draw"
    FILL = "fill", "Fill"
    RETURN = "return", "Return of capital"
    REFUND = "refund", "Refund of a failed cohort's capital"


class LedgerTransaction(models.Model):
    """One balanced posting; `idempotency_key` makes a retried posting a no-op."""

    idempotency_key = models.CharField(max_length=160, unique=True)
    kind = models.CharField(max_length=10, choices=TransactionKind.choices)
    cohort = models.ForeignKey("cohorts.Cohort", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="transactions")
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.idempotency_key}"


class Entry(models.Model):
    # No FOREIGN KEY constraints: on PostgreSQL the entries trigger checks, once per statement, that
    # every transaction and account referred to exists, and neither can ever be deleted (migration
    # 0006), which is what the constraints' per-row checks guaranteed at a fraction of the cost.
    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries",
                                    db_constraint=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries", db_constraint=False)
    amount = MoneyField(help_text="debit positive, credit negative")

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=~models.Q(amount=0), name="entry_amount_not_zero")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount}"
