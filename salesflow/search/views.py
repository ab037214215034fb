"""The global search page (``/search/?q=``) and its dropdown fragment for the header box."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from salesflow.core.web import render_list, wants_fragment
from salesflow.search.documents import searchable_kinds
from salesflow.search.selectors import search

MENU_TARGET = "global-search-menu"
MENU_LIMIT = 5
PAGE_LIMIT = 20


@require_GET
def search_view(request: HttpRequest) -> HttpResponse:
    """Results grouped by kind; the header box asks htmx for the short dropdown version."""
    q = request.GET.get("q", "").strip()
    kind = request.GET.get("kind", "")
    kinds = [kind] if kind in searchable_kinds() else None
    menu = wants_fragment(request, target=MENU_TARGET)
    groups = search(request.user, q, kinds=kinds, limit=MENU_LIMIT if menu else PAGE_LIMIT)
    context = {"q": q, "kind": kind if kinds else "", "groups": groups, "kinds": searchable_kinds()}
    return render_list(
        request,
        page="search/results.html",
        fragment="search/partials/menu.html",
        context=context,
        target=MENU_TARGET,
    )
