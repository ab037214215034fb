"""Reads of tags: the tag list, the tags of records (prefetched, never per row) and the
``tag`` filter step every list applies (one ``IN (subquery)`` served by ``taggeditem_unique``)."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Model, Prefetch, QuerySet
from typing_extensions import TypedDict

from salesflow.tags.models import Tag, TaggedItem

M = TypeVar("M", bound=Model)


def tags_all() -> QuerySet[Tag]:
    """Every tag by name."""
    return Tag.objects.order_by("name", "id")


def tags_with_counts() -> QuerySet[Tag]:
    """Every tag by name with ``n_records``: how many records carry it (the settings page)."""
    return Tag.objects.annotate(n_records=Count("items")).order_by("name", "id")


def tag_choices() -> list[tuple[int, str]]:
    """``(id, name)`` of every tag, for the tag filter of the lists (one query)."""
    return list(Tag.objects.order_by("name", "id").values_list("pk", "name"))


def parse_tag_id(value: Any) -> int | None:
    """A tag id from a query parameter, or ``None`` when absent or malformed."""
    try:
        pk = int(str(value))
    except (TypeError, ValueError):
        return None
    return pk if 0 < pk < 2**63 else None


def filter_by_tag(qs: QuerySet[M], tag_id: int | None) -> QuerySet[M]:
    """Keep the rows of ``qs`` that carry tag ``tag_id`` (no-op for ``None``).

    One ``IN (SELECT object_id …)`` served by the unique index (tag, content_type, object_id).
    """
    if tag_id is None:
        return qs
    ct = ContentType.objects.get_for_model(qs.model)
    return qs.filter(pk__in=TaggedItem.objects.filter(tag_id=tag_id, content_type=ct).values("object_id"))


def tagged_items_prefetch() -> Prefetch[Any]:
    """``prefetch_related`` argument loading each row's tags (``tagged_items``) in one query."""
    return Prefetch("tagged_items", queryset=TaggedItem.objects.select_related("tag").order_by("tag__name", "tag_id"))


def with_tags(qs: QuerySet[M]) -> QuerySet[M]:
    """``qs`` with every row's tags prefetched (one extra query for any number of rows)."""
    return qs.prefetch_related(tagged_items_prefetch())


def tags_of(record: Model) -> list[Tag]:
    """The tags of one record by name (one query)."""
    ct = ContentType.objects.get_for_model(type(record))
    return list(Tag.objects.filter(items__content_type=ct, items__object_id=record.pk).order_by("name", "id"))


def record_tags(record: Model) -> list[Tag]:
    """The tags of ``record``: from its prefetched ``tagged_items`` when loaded, else one query."""
    cache = getattr(record, "_prefetched_objects_cache", {})
    if "tagged_items" in cache:
        return [item.tag for item in cache["tagged_items"]]
    return tags_of(record)


class TagRef(TypedDict):
    """A tag as records show it in the API: ``{"id", "name", "colour"}``."""

    id: int
    name: str
    colour: str


def tag_refs(record: Model) -> list[TagRef]:
    """The tags of ``record`` for API output (from the prefetch when loaded)."""
    return [{"id": t.pk, "name": t.name, "colour": t.colour} for t in record_tags(record)]


def tag_step(qs: QuerySet[M], tag_id: int | None) -> QuerySet[M]:
    """The tag step of every list: rows carrying ``tag_id`` (when given), each with its tags
    prefetched for the chips (one extra query per page)."""
    return filter_by_tag(with_tags(qs), tag_id)
