"""Error pages a person can use: a 404 and a 500 in NeoLight's own look, with somewhere to go next."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import include, path


def boom(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [path("boom/", boom), path("", include("neolight.urls"))]


@pytest.mark.django_db
def test_a_missing_page_says_so_in_words_and_offers_the_main_pages(client, maker):
    client.force_login(maker)
    response = client.get("/trading/no-such-page/")

    assert response.status_code == 404
    html = response.content.decode()
    assert "This page does not exist" in html and "/trading/no-such-page/" in html
    assert 'href="/trading/cohorts"' in html and 'href="/knowledge/"' in html and 'href="/market/"' in html
    assert 'aria-label="Main"' in html  # the usual header navigation, as on every page
    assert "favicon.svg" in html


@pytest.mark.django_db
def test_a_missing_page_for_a_visitor_offers_the_login(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404 and 'href="/login/"' in response.content.decode()


@pytest.mark.smoke
@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_server_error_shows_a_styled_page_with_navigation(settings, maker):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    client.force_login(maker)

    response = client.get("/boom/")

    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html and "a bug in a view" not in html
    assert 'href="/trading/cohorts"' in html and "app.css" in html
