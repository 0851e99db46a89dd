"""`compact_json_script`: chart data embedded as one compact JSON script element (no spaces)."""
import json

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

# What keeps the JSON from closing the script element or starting markup (as Django's json_script does).
SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.filter
def compact_json_script(value, element_id: str) -> str:
    """`value` as JSON without whitespace in `<script id=element_id type="application/json">`."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False).translate(SCRIPT_ESCAPES)
    return format_html('<script id="{}" type="application/json">{}</script>', element_id, mark_safe(text))
