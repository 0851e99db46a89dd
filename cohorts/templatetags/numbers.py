"""The one vocabulary for trading figures, on every page and in the admin.

money $1,234.56 (negative −$12.34) · money_exact $0.0055 (fees, ledger) · percent 1.23% · signed_percent / change +1.23% · ratio 0.85× ·
quantity and price to significant digits (33.33, 0.0055, 57,436.11) · params `name=value` rounded to
4 significant digits. Missing values read "—". Each filter is a thin wrapper over `neolight.formats`,
which the admin and the event sentences call directly.
"""
from django import template

from neolight import formats

register = template.Library()


@register.filter
def money(value) -> str:
    """Dollars with thousands separators and cents: 1234.5 → '$1,234.50', -12.34 → '−$12.34'."""
    return formats.money(value)


@register.filter
def money_exact(value) -> str:
    """A fee or ledger amount to the sub-cent, without trailing zeros: 0.00550000 → '$0.0055'."""
    return formats.money_exact(value)


@register.filter
def percent(value, places: int = 2) -> str:
    """A fraction as a percent: 0.01234 → '1.23%'."""
    return formats.percent(value, int(places))


@register.filter
def signed_percent(value, places: int = 2) -> str:
    """A fraction as a signed percent: 0.01234 → '+1.23%', -0.5 → '−50.00%'."""
    return formats.signed_percent(value, int(places))


@register.filter
def change(value, places: int = 2) -> str:
    """A return with its sign (the same as `signed_percent`)."""
    return formats.signed_percent(value, int(places))


@register.filter
def percent_points(value, places: int = 1) -> str:
    """A figure stored in percent points (utilisation): 12.345 → '12.3%'."""
    return formats.percent(formats.from_percent(value), int(places))


@register.filter
def ratio(value, places: int = 2) -> str:
    """A multiple: 0.85 → '0.85×'."""
    return formats.ratio(value, int(places))


@register.filter
def quantity(value) -> str:
    """Units to significant digits, without trailing zeros: 0.00550000 → '0.0055', 1500 → '1,500'."""
    return formats.quantity(value)


@register.filter
def price(value) -> str:
    """A price to significant digits, without trailing zeros: 57436.11000000 → '57,436.11'."""
    return formats.price(value)


@register.filter
def number(value, places: int = 2) -> str:
    """A plain figure with a fixed number of places (Sharpe, confidence): 1.23456 → '1.23'."""
    return formats.number(value, int(places))


@register.filter
def params(value) -> str:
    """A genome's parameters: {'entry_z': 2.1698373821093018, 'window': 60} → 'entry_z=2.17, window=60'."""
    return formats.params(value)
