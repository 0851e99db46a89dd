"""Fixtures of the VaR and governor tests: three bundled hours of four crypto pairs on 2021-05-06 and the two
hours of 2021-05-19 around its crash, a completed cohort run on them, and users who may or may not see it."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import Permission

from tests.conftest import SAMPLE_DIR
from tests.factories import UserFactory

SYMBOLS = ["BTC-USDT", "DOGE-USDT", "ETH-USDT", "LTC-USDT"]
HOURS = {"start": "2021-05-06T00:00:00Z", "end": "2021-05-06T03:00:00Z"}
CRASH_FIRST_ROW = 13 * 1440 + 12 * 60  # 2021-05-19 12:00 UTC, row of every bundled crypto file


def bundled_rows(tmp_path: Path, symbol: str, slices: list[tuple[int, int]]) -> Path:
    """The bundled file's rows in each [first, last) slice (0 = the first bar), as a CSV file of its own."""
    header, *rows = (SAMPLE_DIR / f"{symbol}_1m.csv").read_text().splitlines()
    path = tmp_path / f"{symbol}_1m.csv"
    path.write_text("\n".join([header, *(row for a, b in slices for row in rows[a:b])]) + "\n")
    return path


@pytest.fixture
def bars(db, tmp_path):
    """2021-05-06 00:00–03:00 and 2021-05-19 12:00–14:00 of four pairs, imported through the real service."""
    from cohorts.services.market import bars_import_files

    slices = [(0, 180), (CRASH_FIRST_ROW, CRASH_FIRST_ROW + 120)]
    return bars_import_files(paths=[bundled_rows(tmp_path, s, slices) for s in SYMBOLS])


@pytest.fixture
def owner(db):
    return UserFactory(username="owner")


@pytest.fixture
def completed(bars, owner):
    """A cohort of 10 agents run to completion on the first three hours, launched by `owner`."""
    from cohorts.services.cohorts import cohort_launch, cohort_run
    from cohorts.services.inputs import cohort_input

    cohort = cohort_launch(data=cohort_input(bankroll="5000", agents=10, symbols=",".join(SYMBOLS), **HOURS),
                           run=False, user=owner)
    return cohort_run(cohort_id=cohort.pk)


@pytest.fixture
def viewer(db):
    """Risk staff: may see every cohort."""
    user = UserFactory(username="viewer")
    user.user_permissions.add(Permission.objects.get(codename="view_cohort"))
    return user


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    """Test users' passwords hash fast: these tests are about risk figures, not logins."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
