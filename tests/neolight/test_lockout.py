"""Login lockout (django-axes): repeated wrong passwords lock the account out for a cool-off time."""
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

pytestmark = pytest.mark.django_db

WRONG = {"username": "maker", "password": "not-the-password"}
RIGHT = {"username": "maker", "password": "maker-password-1"}


def fail(client, url: str, times: int) -> list[int]:
    """Posts a wrong password `times` times; the status of each answer."""
    return [client.post(url, WRONG).status_code for _ in range(times)]


def test_sixth_attempt_after_five_wrong_passwords_is_refused_even_with_the_right_password(client, maker):
    assert fail(client, reverse("login"), 5) == [200, 200, 200, 200, 429]  # the form again, then the lockout

    locked = client.post(reverse("login"), RIGHT)

    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content and b"15 minutes" in locked.content
    assert "_auth_user_id" not in client.session


def test_right_password_works_again_after_the_cool_off(client, maker, settings):
    fail(client, reverse("login"), 5)
    with time_machine.travel(timedelta(minutes=settings.AXES_COOLOFF_TIME.total_seconds() / 60 + 1)):
        response = client.post(reverse("login"), RIGHT)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(maker.pk)


def test_admin_login_is_locked_out_too(client, maker):
    maker.is_staff = True
    maker.save()
    url = reverse("admin:login")
    assert fail(client, url, 5)[-1] == 429
    assert client.post(url, RIGHT).status_code == 429


def test_lockout_is_per_user_and_address(client, maker, outsider):
    fail(client, reverse("login"), 5)

    other_user = client.post(reverse("login"), {"username": "outsider", "password": "outsider-password-1"})
    assert other_user.status_code == 302  # the same address may still log in as someone else
    client.logout()
    elsewhere = client.post(reverse("login"), RIGHT, REMOTE_ADDR="10.1.2.3")
    assert elsewhere.status_code == 302  # and the locked user from another address
