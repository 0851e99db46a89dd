"""The cohort page's charts in a real browser: the time axis is the cohort's window with dates and
times in UTC, hovering an agent's curve reads out agent, family, time and equity in dollars, a
leaderboard row picks out its agent, and the heat-map reads out the pair under the pointer."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from django.db import connections
from playwright.sync_api import expect

from tests.browser.test_cohort_flow import PASSWORD, asgi_server, operator, shot  # noqa: F401 (fixtures)
from tests.cohorts.test_cohorts import DAY, launch_and_run


def test_charts_read_like_a_trading_desk(asgi_server, operator, page):  # noqa: F811
    cohort = _run_apart(agents=10, symbols="BTC-USDT,ETH-USDT", window=DAY)
    assert cohort.status == "completed", cohort.status_reason
    page.goto(f"{asgi_server}/login/")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/trading/cohorts$"))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{asgi_server}/trading/cohorts/{cohort.pk}/")

    canvas = page.locator("#agents-chart")
    expect(canvas).to_be_visible()
    axis = page.evaluate("""() => { const x = Chart.getChart("parent-chart").scales.x;
                                    return {min: x.min, max: x.max, labels: x.ticks.map((t) => t.label)}; }""")
    assert [axis["min"], axis["max"]] == [cohort.window_start.timestamp() * 1000, cohort.window_end.timestamp() * 1000]
    assert axis["labels"][0] == ["00:00", "2021-05-06"] and axis["labels"][-1] == ["00:00", "2021-05-07"]

    box = canvas.bounding_box()
    canvas.hover(position={"x": box["width"] * 0.55, "y": box["height"] * 0.4})
    tooltip = page.locator(".chart:has(#agents-chart) .chart-tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text(re.compile(r"^2021-05-06 \d\d:\d\d UTC"))
    expect(tooltip).to_contain_text(re.compile(r"Agent \d+ · [a-z_]+: \$\d{1,3}(,\d{3})*\.\d\d"))
    shot(page, "cohort-charts-hover")

    row = page.locator("#leaderboard tr[data-agent='3']")
    row.hover()
    expect(row).to_have_class(re.compile(r"\bis-highlighted\b"))
    widths = page.evaluate("() => Chart.getChart('agents-chart').data.datasets.map((d) => d.borderWidth)")
    assert widths[3] > 1 and all(w == 1 for i, w in enumerate(widths) if i != 3)

    page.locator("#heatmap").hover(position={"x": 34 + 3, "y": 3})  # the first cell, right of the row labels
    expect(page.locator("#heatmap-readout")).to_have_text("Agent 0 × agent 0: +1.00")
    shot(page, "cohort-charts-heatmap")

    row.get_by_role("link", name="Agent 3").click()
    expect(page.locator("#equity canvas").first).to_be_visible()
    assert errors == []


def _run_apart(**launch):
    """A finished cohort, run on a thread of its own: its live broadcasts cannot be sent from this
    thread, where the browser's event loop runs."""
    def run():
        try:
            return launch_and_run(**launch)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()
