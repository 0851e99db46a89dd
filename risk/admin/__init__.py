"""The risk admin, one module per part: the leverage ladder, the guardian (breakers, kill switch, modes), alerts."""
from risk.admin import alerts, guardian, ladder  # noqa: F401  (each registers its models)
