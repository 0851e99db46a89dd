"""Login for every page; the login page, market overview, health check and API docs."""
import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_pages_redirect_anonymous_users_to_login(client):
    for url in ["/", "/market/", "/trading/cohorts", "/trading/cohorts/launch", "/trading/cohorts/1/", "/admin/"]:
        response = client.get(url, follow=True)
        assert response.redirect_chain, url
        assert "login" in response.redirect_chain[-1][0], url


@pytest.mark.django_db
def test_login_page_renders_and_logs_in(client, maker):
    page = client.get(reverse("login"))
    assert page.status_code == 200 and b"Log in to NeoLight" in page.content

    bad = client.post(reverse("login"), {"username": "maker", "password": "wrong"})
    assert b"didn't match" in bad.content

    response = client.post(reverse("login"), {"username": "maker", "password": "maker-password-1"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("cohort-list")
    assert b"No cohorts yet" in response.content  # the empty state says how to start
    market = client.get(reverse("market-overview"))
    assert b"No market data yet" in market.content and b"load_sample_data" in market.content


@pytest.mark.django_db
def test_market_overview_lists_instruments(client, maker, crypto_day):
    client.force_login(maker)
    page = client.get(reverse("market-overview")).content.decode()
    assert "BTC-USDT" in page and "1,440" in page and "2021-05-06 00:00" in page


@pytest.mark.django_db
def test_healthz_answers_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_api_schema_and_docs_need_a_login(client, maker):
    assert client.get("/api/schema/").status_code in (401, 403)
    client.force_login(maker)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/market/bars" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content
    assert b"cdn." not in docs.content  # Swagger UI is served by the app itself


@pytest.mark.django_db
def test_token_authenticates_the_api_not_the_pages(api, client):
    assert api.get("/api/market/instruments").status_code == 200
    token = api._credentials["HTTP_AUTHORIZATION"]
    assert client.get("/market/", HTTP_AUTHORIZATION=token).status_code == 302
