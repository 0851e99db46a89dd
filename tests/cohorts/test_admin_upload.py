"""Staff upload a CSV of bars in the admin, with the same checks as the command."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cohorts.models import Bar

URL = "/admin/cohorts/instrument/import-bars/"


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_superuser("boss", "boss@example.com", "boss-password-1")
    client.force_login(user)
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
