"""Process-level tuning of a serving process.

:func:`settle_heap` is called once a process has loaded everything it serves with
(``salesflow/wsgi.py``, after ``get_wsgi_application()``). Django, the apps, their models,
the URLconf and the translation catalogues leave about 230,000 objects that live as long as
the process. Python's cyclic garbage collector walks every tracked object on each full
(oldest-generation) collection: about 100 ms per pass on the 2-core benchmark machine, spent
by whichever request happens to trigger it. In the scale-1.0 benchmark that was the p95 of
many pages (a 70 ms list answered in 220 ms once in five requests).

Guarantee: after :func:`settle_heap`, the objects alive at that moment are in the collector's
permanent generation (``gc.freeze()``): never walked again, never freed (they live as long as
the process anyway). Objects created later are collected as usual.
"""

from __future__ import annotations

import gc


def settle_heap() -> int:
    """Load the URLconf, collect once, then freeze every surviving object; returns how many
    objects were frozen."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every view module now, not on a request
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
