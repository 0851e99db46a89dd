from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "neolight.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from neolight.ops import metrics  # noqa: F401  (connects the Celery task-failure counter)
