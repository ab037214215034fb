from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo company generator and its ``salesflow demo`` command.

    The top layer: it may call every app's services to build a consistent company, and no
    app imports it. It has no models.
    """

    name = "salesflow.demo"
    label = "demo"
    verbose_name = _("Demo data")
