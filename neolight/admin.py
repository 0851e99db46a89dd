"""The admin's one read-only base: rows that only services write are read here, never added, edited or deleted."""
from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """History written by services: its list and detail pages can be read (with the view permission);
    adding, changing and deleting are refused, the changelist's bulk delete included."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # also drops the changelist's "delete selected" action


class ReadOnlyInline(admin.TabularInline):
    """Rows shown inside a read-only parent: every field read-only, nothing added or removed."""

    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields or ()

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
