from cohorts.models.market import Bar, Instrument

__all__ = ["Bar", "Instrument"]
