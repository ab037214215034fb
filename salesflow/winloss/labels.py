"""The words of the win/loss figures, in the reader's language, at render time.

The stored figures (``winloss.cache``, one snapshot for every language) hold only keys, codes
and numbers: an attribute key (``source``, ``stage:<id>``…), a value code (a choice code, a bin
key with its ``lower``/``upper`` bounds, an objection category id), a model note code with its
parameters. :func:`localize` returns a copy with the labels added — each driver's ``title``
and ``note``, each value's ``label``, each term's ``label``, the model's ``note`` — translated
in the active language. The page, the API and the charts all read the figures through it.

Stages and objection categories are named from the database (their ``name_zh``/``name_en``):
at most one query each, only when the figures have such a driver. One that was deleted since
the computation is named by its id.
"""

from __future__ import annotations

import copy
from typing import Any

from django.utils.translation import gettext as _

from salesflow.objections.models import ObjectionCategory
from salesflow.parties.choices import CompanySize, Industry, SourceChannel
from salesflow.sales.models import Stage

_CHOICES = {"source": SourceChannel, "industry": Industry, "size": CompanySize}


def _attribute_names() -> dict[str, str]:
    """The short name of each attribute of the model's terms."""
    return {
        "source": _("Source"),
        "industry": _("Industry"),
        "size": _("Company size"),
        "activities": _("Activities"),
        "objections": _("Objections"),
        "discount": _("Discount"),
    }


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _range_label(lo: int, hi: int | None) -> str:
    if hi is None:
        return _("%(n)s or more") % {"n": lo}
    if lo == hi:
        return str(lo)
    return f"{lo}–{hi}"


def _count_bounds(code: str) -> tuple[int, int | None] | None:
    """The bounds of a count bin's key ``"<lo>-<hi>"`` (``"<lo>-"``: open), or ``None``."""
    lo, sep, hi = code.partition("-")
    if not sep or not lo.isdigit() or (hi and not hi.isdigit()):
        return None
    return int(lo), int(hi) if hi else None


def _days_label(days: float) -> str:
    return _("%(d)s d") % {"d": _number(days)}


def _discount_label(code: str) -> str:
    return {
        "none": _("No product lines"),
        "0": _("No discount"),
        "5": _("Up to 5%"),
        "10": _("5–10%"),
        "20": _("10–20%"),
        "more": _("More than 20%"),
    }.get(code, code)


def value_label(
    attribute: str,
    code: str,
    lower: float | None = None,
    upper: float | None = None,
    categories: dict[str, str] | None = None,
) -> str:
    """The label of the value ``code`` of ``attribute`` in the active language."""
    if attribute in _CHOICES:
        if code == "":
            return _("Not recorded")
        labels = {str(k): str(v) for k, v in _CHOICES[attribute].choices}
        return labels.get(code, code)
    if attribute in ("activities", "objections"):
        bounds = _count_bounds(code)
        return code if bounds is None else _range_label(*bounds)
    if attribute == "discount":
        return _discount_label(code)
    if attribute == "objection_kinds":
        return (categories or {}).get(code, code)
    if attribute.startswith("stage:"):
        if upper is None and lower is not None:
            return _("more than %(lo)s") % {"lo": _days_label(lower)}
        if upper is not None and lower is None:
            return _("up to %(hi)s") % {"hi": _days_label(upper)}
        if upper is not None and lower is not None:
            return f"{_days_label(lower)}–{_days_label(upper)}"
    return code


def driver_title(key: str, stages: dict[str, str] | None = None) -> str:
    """The title of the driver ``key`` (``stages``: stage id → its name as shown)."""
    if key.startswith("stage:"):
        sid = key.removeprefix("stage:")
        return _("Time in stage: %(stage)s") % {"stage": (stages or {}).get(sid, sid)}
    return {
        "source": _("Source"),
        "industry": _("Industry"),
        "size": _("Company size"),
        "activities": _("Activities done on the deal"),
        "objections": _("Objections raised"),
        "objection_kinds": _("Objection raised, by kind"),
        "discount": _("Discount on the deal lines"),
    }.get(key, key)


def driver_note(key: str) -> str:
    """The explanation shown under the driver ``key``'s chart (empty when there is none)."""
    if key.startswith("stage:"):
        return _("Quartiles of the days spent in the stage, among the closed deals that passed through it.")
    return {
        "objection_kinds": _(
            "Each bar: deals that raised at least one objection of this kind, against all other deals."
        ),
        "discount": _("Discount = the lines' total discount ÷ their total before discount."),
    }.get(key, "")


def model_note(code: str, params: dict[str, Any]) -> str:
    """The model's note ``code`` with its ``params`` as a sentence (empty for no code)."""
    try:
        if code == "too_few_deals":
            return _(
                "Too few closed deals for a model (%(n)s closed, %(won)s won): it needs %(min)s, "
                "with at least %(each)s won and %(each)s lost."
            ) % {k: params[k] for k in ("n", "won", "min", "each")}
        if code == "no_variation":
            return _("No attribute varies among these deals.")
        if code == "sampled":
            return _("Fitted on a random sample of %(n)s of the %(total)s closed deals.") % {
                k: params[k] for k in ("n", "total")
            }
    except KeyError:
        return ""
    return ""


def _names(data: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The names of the stages (pipeline-qualified when several pipelines appear) and of the
    objection categories the figures mention: one query each, none when there are none."""
    stage_ids = [
        int(sid)
        for d in data.get("drivers", [])
        if d["key"].startswith("stage:") and (sid := d["key"].removeprefix("stage:")).isdigit()
    ]
    category_ids = [
        int(v["key"])
        for d in data.get("drivers", [])
        if d["key"] == "objection_kinds"
        for v in d["values"]
        if v["key"].isdigit()
    ]
    stages: dict[str, str] = {}
    if stage_ids:
        found = list(Stage.objects.filter(pk__in=stage_ids).select_related("pipeline"))
        several = len({s.pipeline_id for s in found}) > 1
        stages = {str(s.pk): f"{s.pipeline.label} · {s.label}" if several else s.label for s in found}
    categories: dict[str, str] = {}
    if category_ids:
        categories = {str(c.pk): c.label for c in ObjectionCategory.objects.filter(pk__in=category_ids)}
    return stages, categories


def localize(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of the stored figures ``data`` with every label in the active language: each
    driver's ``title`` and ``note``, each value's ``label``, each term's ``label`` ("attribute:
    value (against reference)") and the model's ``note``. ``data`` itself is not changed."""
    out = copy.deepcopy(data)
    stages, categories = _names(out)
    for driver in out.get("drivers", []):
        key = driver["key"]
        driver["title"] = driver_title(key, stages)
        driver["note"] = driver_note(key)
        for value in driver["values"]:
            value["label"] = value_label(key, value["key"], value.get("lower"), value.get("upper"), categories)
    model = out.get("model")
    if model:
        names = _attribute_names()
        for term in model.get("terms", []):
            attribute = term.get("attribute", "")
            term["label"] = _("%(attr)s: %(value)s (against %(ref)s)") % {
                "attr": names.get(attribute, attribute),
                "value": value_label(attribute, term.get("value", "")),
                "ref": value_label(attribute, term.get("reference", "")),
            }
        model["note"] = model_note(model.get("note_code", ""), model.get("note_params") or {})
    return out
