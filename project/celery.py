import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

app = Celery("project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def ensure_broker_folders():
    """kombu's filesystem transport (the local, server-less broker) needs its folders to exist."""
    from django.conf import settings

    if settings.BROKER_IS_FILESYSTEM:
        for key in ("data_folder_in", "data_folder_out", "control_folder"):
            os.makedirs(settings.CELERY_BROKER_TRANSPORT_OPTIONS[key], exist_ok=True)
        os.makedirs(settings.CELERY_RESULT_BACKEND.removeprefix("file://"), exist_ok=True)


@app.on_after_configure.connect
def _prepare_local_broker(sender, **kwargs):
    ensure_broker_folders()
