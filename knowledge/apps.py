from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    verbose_name = "Knowledge and learning"

    def ready(self) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # a line per trial would drown the worker logs
