"""The replay clock of the crash tests' second processes (tests/live/live_worker.py,
tests/promotions/deployments/deploy_worker.py): it arms a SIGKILL at the `live.after_bar` fault point once
bar `crash_at` has arrived, so the worker dies right after that bar's transaction commits."""
from cohorts.services.clocks import ReplayClock
from neolight import faults


class CrashingClock(ReplayClock):
    """The replay clock (no waits), with the crash armed once bar `crash_at` has arrived (-1: never)."""

    def __init__(self, crash_at: int):
        super().__init__(0)
        self.crash_at = crash_at

    def feed(self, **window):
        feed = super().feed(**window)
        arrivals = feed.arrivals

        def armed_arrivals(start):
            for t in arrivals(start):
                if t == self.crash_at:
                    faults._plan["live.after_bar"] = "crash"
                yield t

        feed.arrivals = armed_arrivals
        return feed
