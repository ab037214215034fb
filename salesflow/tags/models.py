"""Tags (标签): coloured labels on records of any registered kind (accounts, contacts, leads,
deals), and the setting that says whether non-administrators may create tags while tagging."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from salesflow.core.models import TimestampedModel
from salesflow.tags.choices import Colour

NAME_LENGTH = 40


class Tag(TimestampedModel):
    """A label. Names are unique regardless of case (``VIP`` = ``vip``)."""

    name = models.CharField(_("name"), max_length=NAME_LENGTH)
    colour = models.CharField(_("colour"), max_length=10, choices=Colour.choices, default=Colour.BLUE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ("name", "id")
        constraints = [
            # one name per tag whatever the case; also serves the name lookups of tag_create/update
            models.UniqueConstraint(Lower("name"), name="tag_name_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class TaggedItem(models.Model):
    """One tag on one record (``content_type``/``object_id``)."""

    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="items")
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.BigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("tagged record")
        verbose_name_plural = _("tagged records")
        constraints = [
            # one tag once per record; also serves "records of kind K with tag T" (list filters)
            models.UniqueConstraint(fields=["tag", "content_type", "object_id"], name="taggeditem_unique"),
        ]
        indexes = [
            # "tags of these records" (the prefetch of list rows and detail pages)
            models.Index(fields=["content_type", "object_id"], name="taggeditem_record_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.tag} → {self.content_type_id}:{self.object_id}"


class TagSettings(models.Model):
    """A single row (pk 1): whether users who are not administrators may create a tag inline
    while tagging a record. Created on first read with ``SALESFLOW_TAGS_INLINE`` (default on)."""

    inline_create = models.BooleanField(_("anyone may create tags while tagging"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("tag settings")
        verbose_name_plural = _("tag settings")

    def __str__(self) -> str:
        return str(_("tag settings"))
