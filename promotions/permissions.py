"""Who may do what along an approval chain: group membership and the per-request object permission to sign,
checked explicitly so that superusers get no bypass (django-guardian's checker grants them everything).

Services call these at their entry point; the DRF permission classes below gate the API's endpoints."""
from __future__ import annotations

from django.conf import settings
from guardian.shortcuts import get_group_perms, get_user_perms
from rest_framework import status
from rest_framework.permissions import BasePermission

from neolight.errors import ApplicationError

SIGN = "sign_promotionrequest"
SIGN_PERMISSION = f"promotions.{SIGN}"


class PromotionForbidden(ApplicationError):
    """A refusal because of who is asking (the API answers 403)."""

    status_code = status.HTTP_403_FORBIDDEN


class PromotionNotFound(ApplicationError):
    """No such request (the API answers 404)."""

    status_code = status.HTTP_404_NOT_FOUND


def in_group(user, name: str) -> bool:
    """True when the active `user` is a member of the Django group `name`; superusers are no exception."""
    return bool(user is not None and user.is_active and user.groups.filter(name=name).exists())


def holds_sign_permission(user, request) -> bool:
    """True when `user` holds the object permission to sign `request`, directly or through a group; checked
    on the permission rows themselves, never granted for being a superuser."""
    if user is None or not user.is_active:
        return False
    return SIGN in set(get_user_perms(user, request)) or SIGN in set(get_group_perms(user, request))


def approver_groups(roles=None) -> list[str]:
    """The groups whose members may request a promotion by hand and read requests: ops and every approval role."""
    return list(dict.fromkeys([settings.PROMOTION_OPS_GROUP, *(roles or settings.PROMOTION_APPROVAL_ROLES)]))


def is_approver(user, roles=None) -> bool:
    """True when the active `user` belongs to ops or to one of `roles` (the settings' chain by default)."""
    return bool(user is not None and user.is_active
                and user.groups.filter(name__in=approver_groups(roles)).exists())


def in_approval_roles(user) -> bool:
    """True when `user` belongs to one of the settings' approval roles: who may override deployments, change their
    trading mode and reset their breakers (ops alone may not)."""
    return bool(user is not None and user.groups.filter(name__in=settings.PROMOTION_APPROVAL_ROLES).exists())


class IsApprover(BasePermission):
    """Members of ops or of an approval role; superusers only if they are members too."""

    message = "Only members of ops or of an approval role may see or request promotions."

    def has_permission(self, request, view) -> bool:
        return is_approver(request.user)
