"""The global search index: one narrow row per searchable record.

The apps that own accounts, contacts, leads and opportunities describe how a record becomes
a row (``search.documents``) and their services keep the row current in the same
transaction. Each row also carries the record's owner (``owner_id``), so a rep's search
is an index range of the rep's own rows. Full-text matching runs on ``text`` (already folded: NFKC, case-folded, phone
digits and credit codes normalised): an FTS5 ``trigram`` table on SQLite, a ``pg_trgm`` GIN
index on PostgreSQL (both created by migration 0001, per database vendor).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SearchEntry(models.Model):
    """A record as search sees it. ``kind`` is the record kind of ``core.visibility``."""

    kind = models.CharField(_("kind"), max_length=30)
    object_id = models.BigIntegerField(_("record id"))
    title = models.CharField(_("title"), max_length=200)
    subtitle = models.CharField(_("subtitle"), max_length=300, blank=True)
    # folded title: prefix matches for terms too short for trigrams (a surname, "王芳")
    title_key = models.CharField(_("title key"), max_length=200)
    # everything searchable, folded, plus CJK bigram tokens (see documents.search_text)
    text = models.TextField(_("search text"))
    # the owner the visibility policy's ownership scope keys on (a contact: its account's
    # owner; ``None``: unowned), copied from the record by ``entry_values`` whenever the row
    # is written. It only narrows where a restricted scope's search looks first
    # (``search_entry_owner_idx``): every hit still passes ``readable_rows``.
    owner_id = models.BigIntegerField(_("owner id"), null=True, blank=True)

    class Meta:
        verbose_name = _("search entry")
        verbose_name_plural = _("search entries")
        constraints = [
            # one row per record; index_record upserts on it
            models.UniqueConstraint(fields=["kind", "object_id"], name="search_entry_kind_object_uniq"),
        ]
        indexes = [
            # short terms: title_key prefix per kind (PostgreSQL: pattern ops for LIKE 'x%')
            models.Index(
                fields=["kind", "title_key"],
                name="search_entry_title_idx",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.object_id} {self.title}"
