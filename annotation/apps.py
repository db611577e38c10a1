from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = "Annotation"

    def ready(self) -> None:
        from .services.dashboard import on_judgments_recorded
        from .signals import judgments_recorded

        judgments_recorded.connect(on_judgments_recorded, dispatch_uid="annotation.dashboard")
