"""The pages show figures as a trader reads them: dollars and cents, no trailing zeros, rounded parameters."""
from __future__ import annotations

import re

import pytest
from django.urls import reverse

from cohorts.models import Cohort
from tests.cohorts.test_cohorts import launch_and_run


@pytest.mark.django_db
def test_list_detail_and_agent_pages_format_every_figure(operator, maker, crypto_hours):
    cohort = launch_and_run(window={"start": "2021-05-06T00:00:00Z", "end": "2021-05-06T02:00:00Z"})
    Cohort.objects.update(launched_by=maker)
    cohort.refresh_from_db()
    busiest = cohort.agents.order_by("-trades", "index").first()

    row = operator.get(reverse("cohort-list")).content.decode()
    row = row[row.index(f'id="cohort-row-{cohort.pk}"'):]
    row = row[:row.index("</tr>")]
    assert "$1,000.00" in row and re.search(r'<td class="num">−?\$[\d,]+\.\d\d</td>', row)  # equity with "$"

    detail = operator.get(reverse("cohort-detail", args=[cohort.pk])).content.decode()
    assert "Bankroll<strong>$1,000.00</strong>" in detail
    assert re.search(r"Utilisation<strong>\d+\.\d%</strong>", detail)

    agent = operator.get(reverse("agent-detail", args=[cohort.pk, busiest.index])).content.decode()
    cells = re.findall(r'<td class="num">([^<]*)</td>', agent)
    trailing = [c for c in cells if re.fullmatch(r"[−\d,]*\.\d*0|[−$\d,]*\.\d{2}\d*0", c)]
    assert cells and not trailing  # no 33.3300, no 0.00550000; dollars keep their cents
    assert any(c.startswith("$") for c in cells)  # fees and ledger amounts are dollars
    params = re.search(r"Parameters: <code>([^<]*)</code>", agent).group(1)
    assert "=" in params and not re.search(r"\d\.\d{5,}", params) and "{" not in params
