"""``/api/v1/search``: the global search over the records the caller may see."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from salesflow.core.errors import ValidationFailed
from salesflow.search.documents import searchable_kinds
from salesflow.search.schemas import SearchOut, SearchQuery
from salesflow.search.selectors import search

router = Router(tags=["search"])


@router.get("", response=SearchOut, summary="Accounts, contacts, opportunities and leads matching a term, by kind")
@router.get("/", response=SearchOut, include_in_schema=False)
def global_search(request: HttpRequest, filters: Query[SearchQuery]) -> dict[str, Any]:
    kinds = None
    if filters.kind:
        if filters.kind not in searchable_kinds():
            raise ValidationFailed(
                _("The input is not valid."),
                field_errors={
                    "kind": [_("Unknown kind; use one of: %(kinds)s.") % {"kinds": ", ".join(searchable_kinds())}]
                },
            )
        kinds = [filters.kind]
    groups = search(request.user, filters.q, kinds=kinds, limit=filters.limit)
    return {
        "q": filters.q,
        "groups": [
            {"kind": g.kind, "label": str(g.label), "more": g.more, "hits": [vars(h) for h in g.hits]} for g in groups
        ],
    }
