"""`{% cohort_rows cohorts %}`: the list rows of a page of cohorts, finished ones from the cache."""
from django import template
from django.utils.safestring import mark_safe

from cohorts.fragments import cohort_rows as rendered_rows

register = template.Library()


@register.simple_tag
def cohort_rows(cohorts):
    return mark_safe("".join(rendered_rows(list(cohorts))))
