import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesflow.settings")
application = get_asgi_application()

from salesflow.core.runtime import settle_heap  # noqa: E402 - needs the configured Django above

settle_heap()  # start-up objects out of the garbage collector's full passes
