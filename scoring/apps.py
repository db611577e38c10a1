from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Scoring and agreement"

    def ready(self) -> None:
        from annotation.signals import judgments_recorded

        from .receivers import on_judgments_recorded

        judgments_recorded.connect(on_judgments_recorded, dispatch_uid="scoring.auto_aggregate")
