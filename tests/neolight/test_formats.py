"""The formatting vocabulary: figures as a trader reads them, plain decimals for machines."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template

from neolight import formats


@pytest.mark.parametrize(("value", "shown"), [
    (Decimal("1000"), "$1,000.00"), (Decimal("1234.5600000"), "$1,234.56"), (-12.34, "−$12.34"),
    (Decimal("-0.001"), "$0.00"), (None, "—"), ("", "—"), (float("nan"), "—"),
])
def test_money_has_a_dollar_sign_separators_and_cents(value, shown):
    assert formats.money(value) == shown


def test_percents_ratios_and_plain_figures():
    assert formats.signed_percent(0.01234) == "+1.23%" and formats.signed_percent(-0.5) == "−50.00%"
    assert formats.signed_percent(0) == "0.00%" and formats.percent(0.0566, 1) == "5.7%"
    assert formats.ratio(0.85) == "0.85×" and formats.number(-1.2345) == "−1.23"


def test_quantities_prices_and_ledger_amounts_keep_significant_digits_without_trailing_zeros():
    assert formats.price(Decimal("57436.11000000")) == "57,436.11" and formats.price(Decimal("0.33202000")) == "0.33202"
    assert formats.quantity(Decimal("1500.00000000")) == "1,500" and formats.quantity(Decimal("0.01740967")) == "0.0174097"
    assert formats.money_exact(Decimal("33.33000000")) == "$33.33" and formats.money_exact(Decimal("0.0055")) == "$0.0055"


def test_parameters_read_as_rounded_name_value_pairs():
    params = {"entry_z": 2.1698373821093018, "window": 60, "side": "long", "stop": -0.000123456}
    assert formats.params(params) == "entry_z=2.17, window=60, side=long, stop=-0.0001235"


def test_machine_formats_never_write_an_exponent():
    assert formats.plain(Decimal("0E-8")) == "0" and formats.plain(1e-9) == "0.000000001"
    assert formats.cents(Decimal("0E-8")) == "0.00" and formats.cents(Decimal("-12.345")) == "-12.35"
    assert formats.params_json({"b": 1, "a": 2.5}) == '{"a":2.5,"b":1}'


def test_template_filters_speak_the_same_vocabulary():
    template = Template("{% load numbers %}{{ m|money }} {{ r|signed_percent }} {{ x|ratio }} {{ p|params }} "
                        "{{ u|percent_points }} {{ q|quantity }}")
    shown = template.render(Context({"m": Decimal("1000"), "r": 0.0123, "x": 0.5, "p": {"entry_z": 2.16983},
                                     "u": 12.34, "q": Decimal("33.33000000")}))
    assert shown == "$1,000.00 +1.23% 0.50× entry_z=2.17 12.3% 33.33"
