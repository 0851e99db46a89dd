"""Formatting filters for trading figures."""
from django import template

register = template.Library()


@register.filter
def percent(value, places: int = 2) -> str:
    """0.01234 → '1.23%'; None → '—'."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{int(places)}f}%"


@register.filter
def change(value, places: int = 2) -> str:
    """A return with its sign: 0.01234 → '+1.23%', -0.5 → '-50.00%'; None → '—'."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:+.{int(places)}f}%"
