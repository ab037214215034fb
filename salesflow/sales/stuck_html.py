"""The rows of "where is each rep stuck" (``sales/stuck.html``) rendered in Python.

An administrator's matrix at bench scale 1.0 has 206 people × 6 open stages = 1,236 cells.
Rendered by the template language each cell cost ≈ 300 µs of CPU (about 30 variable
lookups, each localised and escaped, one ``translate`` and two ``blocktranslate`` with
their plural rules, the money filter): ≈ 380 ms of the page, over the 200 ms list budget on
its own. Here each translation is looked up once per page, numbers, medians and stall
badges once per distinct value, the links' query strings once per row and per stage, and
each cell is one ``str.format`` of constant markup: ≈ 15 µs a cell (both figures measured
by ``bench/stuck_profile.py`` on a loaded machine).

Guarantees:

- The output is byte for byte what the template's row loop rendered (same markup and
  whitespace, links, figures, translations, localisation). ``sales/tests/test_stuck_html.py``
  renders that loop, kept there as the reference, beside this for every kind of cell (empty,
  stalled, with unconverted deals, an even count's half-day median, an inactive owner, a
  name with markup) in both languages.
- The same escaping as the template's autoescaping: every value that is not an ``int`` is
  passed through ``escape`` where it is put in; a translation with values is trusted like
  ``blocktranslate`` output (the translated text is not escaped, the values put in it are;
  a translation that does not fit its values falls back to the source text, as there).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from decimal import Decimal
from typing import TypeVar

from django.template.defaultfilters import floatformat
from django.utils.formats import localize
from django.utils.html import escape
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext

from salesflow.core.templatetags.salesflow import money
from salesflow.sales.selectors import StuckMatrix

# The template's loop body, split where values go in (``{{ }}`` placeholders of str.format).
_ROW_START = (
    '\n        <tr data-testid="stuck-row-{pk}">\n'
    '          <th scope="row" class="text-nowrap">'
    '<a href="{owner_href}" class="text-reset">{owner}</a>{inactive}</th>\n'
    "          "
)
_INACTIVE = ' <span class="badge bg-secondary-lt">{inactive}</span>'
_CELL_EMPTY = (
    '\n          <td class="text-center{red}" data-testid="stuck-cell-{key}"'
    ' data-count="{count}" data-stalled="{stalled}">\n'
    '            <span class="text-secondary">—</span>\n'
    "          </td>\n"
    "          "
)
_CELL = (
    '\n          <td class="text-center{red}" data-testid="stuck-cell-{key}"'
    ' data-count="{count}" data-stalled="{stalled}">\n'
    "            \n"
    '            <a href="{href}" class="text-reset d-block" data-testid="stuck-link-{key}">\n'
    '              <strong>{count}</strong> · <span title="{t_value}">{amount}</span>\n'
    '              <div class="small text-secondary" title="{t_days}">{days}</div>\n'
    "            </a>\n"
    "            {stalled_badge}\n"
    "            {unconverted}\n"
    "            \n"
    "          </td>\n"
    "          "
)
_STALLED_BADGE = (
    '<a href="{href}&amp;stalled=1" class="badge bg-red text-red-fg mt-1" data-testid="stuck-stalled-{key}">'
    '<i class="ti ti-alert-triangle"></i> {text}</a>'
)
_UNCONVERTED = '<div class="small text-warning" title="{title}">+{n}</div>'
_ROW_END = (
    '\n          <td class="text-end text-nowrap"><strong>{count}</strong>{amount}{stalled}</td>\n'
    "        </tr>\n"
    "        "
)
_ROW_STALLED = '<div><span class="badge bg-red-lt">{text}</span></div>'

K = TypeVar("K", bound=Hashable)


def _memo(fn: Callable[[K], str]) -> Callable[[K], str]:
    """``fn`` computed once per distinct argument (within one rendering: the language and
    the format settings are fixed)."""
    seen: dict[K, str] = {}

    def get(value: K) -> str:
        found = seen.get(value)
        if found is None:
            found = seen[value] = fn(value)
        return found

    return get


def _trusted(translated: str, source: str, values: dict[str, str]) -> str:
    """A translation with its values put in, as ``blocktranslate`` does: values already
    escaped, the translation trusted; the source text when the translation does not fit."""
    try:
        return translated % values
    except (KeyError, ValueError):
        return source % values


def stuck_rows_html(matrix: StuckMatrix, list_url: str) -> SafeString:
    """The ``<tr>`` of every row of ``matrix`` (empty when it has none), in the active
    language; ``list_url`` is the opportunity list's path the cells link to (with
    ``?owner=&stage=&outcome=open``, the stalled badge adding ``&stalled=1``)."""
    currency = matrix.currency
    # the template localised every number it put in ({{ cell.count }}, {{ worst }}…)
    number: Callable[[int | None], str] = _memo(lambda n: escape(localize(n)))
    median: Callable[[Decimal | None], str] = _memo(lambda d: escape(floatformat(d, "-1")))
    # literal msgids (makemessages reads them here), the same as the template's were
    days_source = "%(median)s / %(worst)s d"
    days_translated = gettext("%(median)s / %(worst)s d")
    stalled_source = "%(counter)s stalled"
    stalled: Callable[[int], str] = _memo(
        lambda n: _trusted(
            ngettext("%(counter)s stalled", "%(counter)s stalled", n), stalled_source, {"counter": number(n)}
        )
    )
    t_value = escape(gettext("Value"))
    t_days = escape(gettext("Median / longest days in stage"))
    t_unconverted = escape(gettext("Deals without an exchange rate are counted but not in the value"))
    inactive = _INACTIVE.format(inactive=escape(gettext("inactive")))
    base = escape(list_url)
    pipeline_query = escape(urlencode([("outcome", "open"), ("pipeline", matrix.pipeline.pk)]))
    stage_query = [(escape(s.code), escape(urlencode([("stage", s.pk), ("outcome", "open")]))) for s in matrix.stages]
    out: list[str] = []
    for row in matrix.rows:
        owner = row.owner
        pk = number(owner.pk)
        owner_href = f"{base}?{escape(urlencode({'owner': owner.pk}))}"
        out.append(
            _ROW_START.format(
                pk=pk,
                owner_href=f"{owner_href}&amp;{pipeline_query}",
                owner=escape(str(owner)),
                inactive="" if owner.is_active else inactive,
            )
        )
        count = stalled_sum = 0
        amount = Decimal("0.00")
        for cell, (code, query) in zip(row.cells, stage_query, strict=True):
            key = f"{pk}-{code}"
            count += cell.count
            stalled_sum += cell.stalled
            amount += cell.amount
            if not cell.count:
                out.append(
                    _CELL_EMPTY.format(
                        red=" bg-red-lt" if cell.stalled else "",
                        key=key,
                        count=number(cell.count),
                        stalled=number(cell.stalled),
                    )
                )
                continue
            href = f"{owner_href}&amp;{query}"
            days = _trusted(
                days_translated,
                days_source,
                {"median": median(cell.median_days), "worst": number(cell.worst_days)},
            )
            out.append(
                _CELL.format(
                    red=" bg-red-lt" if cell.stalled else "",
                    key=key,
                    count=number(cell.count),
                    stalled=number(cell.stalled),
                    href=href,
                    t_value=t_value,
                    amount=escape(money(cell.amount, currency)),
                    t_days=t_days,
                    days=days,
                    stalled_badge=(
                        _STALLED_BADGE.format(href=href, key=key, text=stalled(cell.stalled)) if cell.stalled else ""
                    ),
                    unconverted=(
                        _UNCONVERTED.format(title=t_unconverted, n=number(cell.unconverted)) if cell.unconverted else ""
                    ),
                )
            )
        out.append(
            _ROW_END.format(
                count=number(count),
                amount=f" · {escape(money(amount, currency))}" if count else "",
                stalled=_ROW_STALLED.format(text=stalled(stalled_sum)) if stalled_sum else "",
            )
        )
    # every value above went through ``escape`` (or is an int, or a trusted translation
    # whose values did): the markup is the template's own
    return mark_safe("".join(out))  # noqa: S308
