"""import_bars: every validation rule refuses a crafted file by line, and nothing is written."""
from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cohorts.models import Bar, Instrument
from tests.conftest import sample_slice

HEADER = "timestamp,open,high,low,close,volume"
GOOD = [
    "2021-05-06T00:00:00Z,100.5,101,100,100.75,12.5",
    "2021-05-06T00:01:00Z,100.75,102.25,100.5,102,3",
    "2021-05-06T00:02:00Z,102,102,101.125,101.5,0",
    "2021-05-06T00:03:00Z,101.5,101.9,101.1,101.2,7.00000001",
]


def write(tmp_path, rows, name="TEST-USDT_1m.csv", header=HEADER):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def import_bars(*args) -> str:
    out = StringIO()
    call_command("import_bars", *map(str, args), stdout=out)
    return out.getvalue()


def with_row(line: int, row: str) -> list[str]:
    """GOOD with file line `line` (2 = first data row) replaced by `row`."""
    rows = list(GOOD)
    rows[line - 2] = row
    return rows


BAD_FILES = {
    "unparseable timestamp": (with_row(3, "yesterday,100.75,102.25,100.5,102,3"), 3, "is not an ISO-8601"),
    "not a whole minute": (with_row(4, "2021-05-06T00:02:30Z,102,102,101.125,101.5,0"), 4, "not on a whole minute"),
    "duplicate timestamp": (with_row(4, "2021-05-06T00:01:00Z,102,102,101.125,101.5,0"), 4, "duplicate timestamp"),
    "time going backwards": (with_row(5, "2021-05-06T00:01:00Z,101.5,101.9,101.1,101.2,1"), 5, "earlier than the row"),
    "NaN price": (with_row(3, "2021-05-06T00:01:00Z,NaN,102.25,100.5,102,3"), 3, "open 'NaN' is not a number"),
    "empty cell": (with_row(2, "2021-05-06T00:00:00Z,100.5,,100,100.75,12.5"), 2, "empty value in column high"),
    "missing field": (with_row(5, "2021-05-06T00:03:00Z,101.5,101.9,101.1,101.2"), 5, "empty value in column volume"),
    "zero price": (with_row(3, "2021-05-06T00:01:00Z,0,102.25,0,102,3"), 3, "open must be above 0"),
    "negative price": (with_row(2, "2021-05-06T00:00:00Z,100.5,101,-1,100.75,12.5"), 2, "low must be above 0"),
    "negative volume": (with_row(4, "2021-05-06T00:02:00Z,102,102,101.125,101.5,-2"), 4, "volume must not be negative"),
    "high below close": (with_row(3, "2021-05-06T00:01:00Z,100.75,101.5,100.5,102,3"), 3, "below max(open, close)"),
    "high below open": (with_row(2, "2021-05-06T00:00:00Z,101.5,101,100,100.75,1"), 2, "below max(open, close)"),
    "low above open": (with_row(5, "2021-05-06T00:03:00Z,101.5,101.9,101.6,101.7,1"), 5, "above min(open, close)"),
    "low above close": (with_row(4, "2021-05-06T00:02:00Z,102,102,101.6,101.5,0"), 4, "above min(open, close)"),
    "too many decimals": (with_row(2, "2021-05-06T00:00:00Z,100.123456789,101,100,100.75,1"), 2, "more than 8 decimal"),
    "extra field": (with_row(3, "2021-05-06T00:01:00Z,100.75,102.25,100.5,102,3,9"), 3, "unreadable CSV"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(BAD_FILES), ids=list(BAD_FILES))
def test_bad_file_is_refused_with_line_and_reason_and_nothing_written(tmp_path, case):
    rows, line, reason = BAD_FILES[case]
    path = write(tmp_path, rows)

    with pytest.raises(CommandError) as refused:
        import_bars(path)

    assert f"{path}:{line}: " in str(refused.value)
    assert reason in str(refused.value)
    assert "Nothing was imported" in str(refused.value)
    assert Bar.objects.count() == 0
    assert Instrument.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "reason"),
    [("time,open,high,low,close,volume", "header must be"), ("timestamp,open,high,low,close", "header must be")],
)
def test_wrong_header_is_refused_on_line_1(tmp_path, header, reason):
    path = write(tmp_path, GOOD, header=header)
    with pytest.raises(CommandError, match=rf"{path}:1: {reason}"):
        import_bars(path)
    assert Bar.objects.count() == 0


@pytest.mark.django_db
def test_empty_file_and_header_only_are_refused(tmp_path):
    empty = tmp_path / "EMPTY_1m.csv"
    empty.write_text("")
    with pytest.raises(CommandError, match="the file is empty"):
        import_bars(empty)
    with pytest.raises(CommandError, match="no bars after the header"):
        import_bars(write(tmp_path, []))


@pytest.mark.django_db
def test_good_file_stores_exact_values(tmp_path):
    output = import_bars(write(tmp_path, GOOD))

    assert "TEST-USDT: 4 rows" in output and "4 new" in output
    bars = list(Bar.objects.filter(instrument__symbol="TEST-USDT").order_by("ts"))
    assert [b.ts.isoformat() for b in bars] == [
        "2021-05-06T00:00:00+00:00", "2021-05-06T00:01:00+00:00", "2021-05-06T00:02:00+00:00", "2021-05-06T00:03:00+00:00",
    ]
    assert bars[1].high == Decimal("102.25") and bars[2].low == Decimal("101.125")
    assert bars[3].volume == Decimal("7.00000001")
    assert Instrument.objects.get(symbol="TEST-USDT").asset_class == "crypto"


@pytest.mark.django_db
def test_reimport_is_idempotent(tmp_path):
    path = write(tmp_path, GOOD)
    import_bars(path)
    again = import_bars(path)

    assert "0 new, 4 already stored" in again
    assert Bar.objects.count() == 4


@pytest.mark.django_db
def test_overlapping_file_adds_only_new_minutes(tmp_path):
    import_bars(write(tmp_path, GOOD[:2]))
    output = import_bars(write(tmp_path, GOOD))
    assert "2 new, 2 already stored" in output
    assert Bar.objects.count() == 4


@pytest.mark.django_db
def test_reimport_with_different_values_is_refused_whole(tmp_path):
    import_bars(write(tmp_path, GOOD[:2]))
    changed = with_row(3, "2021-05-06T00:01:00Z,100.75,102.25,100.5,101.99,3")
    path = write(tmp_path, changed)

    with pytest.raises(CommandError, match=rf"{path}:3: close 101.99 differs from the stored bar"):
        import_bars(path)
    assert Bar.objects.count() == 2  # the two new minutes of that file were not written either


@pytest.mark.django_db
def test_one_bad_file_among_several_writes_nothing(tmp_path):
    good = sample_slice(tmp_path, "BTC-USDT", 30)
    bad = write(tmp_path, with_row(4, "2021-05-06T00:02:00Z,102,102,101.125,101.5,-2"), name="BAD-USDT_1m.csv")

    with pytest.raises(CommandError, match=rf"{bad}:4: volume must not be negative"):
        import_bars(good, bad)
    assert Bar.objects.count() == 0
    assert not Instrument.objects.exists()


@pytest.mark.django_db
def test_symbol_option_names_the_instrument(tmp_path):
    import_bars(write(tmp_path, GOOD, name="export.csv"), "--symbol", "eth-usdt")
    assert Bar.objects.filter(instrument__symbol="ETH-USDT").count() == 4


@pytest.mark.django_db
def test_symbol_option_with_several_files_is_refused(tmp_path):
    first, second = write(tmp_path, GOOD, name="a.csv"), write(tmp_path, GOOD, name="b.csv")
    with pytest.raises(CommandError, match="--symbol applies to one file only"):
        import_bars(first, second, "--symbol", "X")


@pytest.mark.django_db
def test_missing_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        import_bars(tmp_path / "nope.csv")


@pytest.mark.django_db
def test_timestamps_with_offsets_are_stored_in_utc(tmp_path):
    rows = ["2021-05-06T02:00:00+02:00,1,1,1,1,1", "2021-05-06T00:01:00,1,1,1,1,1"]
    import_bars(write(tmp_path, rows))
    stamps = list(Bar.objects.order_by("ts").values_list("ts", flat=True))
    assert [s.isoformat() for s in stamps] == ["2021-05-06T00:00:00+00:00", "2021-05-06T00:01:00+00:00"]
