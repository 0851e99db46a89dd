"""Staff upload a CSV of bars in the admin, with the same checks as the command."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cohorts.models import Bar

URL = "/admin/cohorts/instrument/import-bars/"


@pytest.fixture
def staff(client, superuser):
    client.force_login(superuser)
    return client


def upload(text: str, name="LTC-USDT_1m.csv"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


@pytest.mark.django_db
def test_good_upload_imports_and_says_how_many(staff):
    csv = "timestamp,open,high,low,close,volume\n2021-05-06T00:00:00Z,1,2,0.5,1.5,10\n2021-05-06T00:01:00Z,1.5,1.6,1.4,1.5,3\n"
    response = staff.post(URL, {"file": upload(csv)}, follow=True)
    assert "LTC-USDT: 2 rows read, 2 new" in response.content.decode()
    assert Bar.objects.filter(instrument__symbol="LTC-USDT").count() == 2


@pytest.mark.django_db
def test_bad_upload_is_refused_with_its_line_and_nothing_written(staff):
    csv = "timestamp,open,high,low,close,volume\n2021-05-06T00:00:00Z,1,2,0.5,1.5,10\n2021-05-06T00:01:00Z,1.5,1.4,1.45,1.5,3\n"
    page = staff.post(URL, {"file": upload(csv)}).content.decode()
    assert "LTC-USDT_1m.csv:3: high 1.4 is below max(open, close)" in page and "nothing was imported" in page
    assert not Bar.objects.exists()


@pytest.mark.django_db
def test_upload_page_needs_staff(client, outsider):
    client.force_login(outsider)
    assert client.get(URL).status_code == 302  # to the admin login


ROWS = ["2021-05-06T00:0%d:00Z,1,2,0.5,1.5,10" % minute for minute in range(5)]
HEADER = "timestamp,open,high,low,close,volume"


@pytest.mark.django_db
def test_upload_over_the_size_cap_is_refused_before_it_is_parsed(staff, settings):
    settings.BARS_UPLOAD_MAX_BYTES = 100
    page = staff.post(URL, {"file": upload("not,a,bar,file\n" * 10)}).content.decode()

    assert "LTC-USDT_1m.csv is 150 bytes; one upload may be at most 100 bytes" in page  # not a parse error
    assert "manage.py import_bars" in page and not Bar.objects.exists()


@pytest.mark.django_db
def test_upload_is_read_in_chunks_and_stored_whole(staff, monkeypatch):
    from cohorts.services import market

    monkeypatch.setattr(market, "UPLOAD_CHUNK_ROWS", 2)
    response = staff.post(URL, {"file": upload("\n".join([HEADER, *ROWS]) + "\n")}, follow=True)

    assert "LTC-USDT: 5 rows read, 5 new" in response.content.decode()
    assert Bar.objects.count() == 5


@pytest.mark.django_db
@pytest.mark.parametrize("rows, problem", [
    ([*ROWS[:4], "2021-05-06T00:04:00Z,1,0.9,0.5,1.5,10"], "LTC-USDT_1m.csv:6: high 0.9 is below max(open, close)"),
    ([*ROWS[:2], ROWS[1], *ROWS[2:]], "LTC-USDT_1m.csv:4: duplicate timestamp 2021-05-06T00:01:00Z"),
    ([*ROWS[:2], ROWS[0], *ROWS[2:]], "LTC-USDT_1m.csv:4: timestamp 2021-05-06T00:00:00Z is earlier than the row before"),
])
def test_a_bad_row_in_a_later_chunk_refuses_the_whole_upload(staff, monkeypatch, rows, problem):
    from cohorts.services import market

    monkeypatch.setattr(market, "UPLOAD_CHUNK_ROWS", 2)
    page = staff.post(URL, {"file": upload("\n".join([HEADER, *rows]) + "\n")}).content.decode()

    assert problem in page and "nothing was imported" in page
    assert not Bar.objects.exists()  # the chunks before it were rolled back


@pytest.mark.django_db
def test_upload_sets_the_instruments_calendar_and_session(staff):
    from cohorts.models import Instrument

    csv = "timestamp,open,high,low,close,volume\n2024-01-08T14:30:00Z,1,2,0.5,1.5,10\n"
    staff.post(URL, {"file": upload(csv, "SPY_1m.csv"), "calendar": "XNYS", "session": "extended"}, follow=True)

    spy = Instrument.objects.get(symbol="SPY")
    assert (spy.calendar, spy.session) == ("XNYS", "extended")


@pytest.mark.django_db
def test_upload_with_an_unknown_calendar_is_refused(staff):
    csv = "timestamp,open,high,low,close,volume\n2024-01-08T14:30:00Z,1,2,0.5,1.5,10\n"
    page = staff.post(URL, {"file": upload(csv, "SPY_1m.csv"), "calendar": "MOON"}).content.decode()

    assert "Unknown calendar" in page and not Bar.objects.exists()
