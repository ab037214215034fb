"""The rows of "where is each rep stuck" rendered in Python (``sales.stuck_html``) are byte
for byte what the template's row loop rendered before (kept here as ``REFERENCE``): every
kind of cell (empty, stalled once and more, unconverted deals, an even count's half-day
median, large amounts), inactive owners and names with markup, in both languages; and the
page's table body equals the reference for every persona, with and without the people
without open deals."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.template import engines
from django.urls import reverse
from django.utils import translation

from salesflow.sales.models import Stage
from salesflow.sales.selectors import StuckCell, StuckMatrix, StuckRow, active_pipelines, stuck_matrix
from salesflow.sales.services import default_pipeline
from salesflow.sales.stuck_html import stuck_rows_html
from salesflow.sales.tests.factories import make_opportunity
from salesflow.sales.tests.test_stall import age
from salesflow.users.models import User

pytestmark = pytest.mark.django_db

# ``sales/stuck.html``'s table body as it was before the rows moved to Python (unchanged).
REFERENCE = """{% load i18n salesflow %}{% url 'opportunities:list' as list_url %}<tbody>
        {% for row in matrix.rows %}
        <tr data-testid="stuck-row-{{ row.owner.pk }}">
          <th scope="row" class="text-nowrap"><a href="{{ list_url }}?owner={{ row.owner.pk }}&amp;outcome=open&amp;pipeline={{ matrix.pipeline.pk }}" class="text-reset">{{ row.owner }}</a>{% if not row.owner.is_active %} <span class="badge bg-secondary-lt">{% translate "inactive" %}</span>{% endif %}</th>
          {% for cell in row.cells %}
          <td class="text-center{% if cell.stalled %} bg-red-lt{% endif %}" data-testid="stuck-cell-{{ row.owner.pk }}-{{ cell.stage.code }}" data-count="{{ cell.count }}" data-stalled="{{ cell.stalled }}">
            {% if cell.count %}
            <a href="{{ list_url }}?owner={{ row.owner.pk }}&amp;stage={{ cell.stage.pk }}&amp;outcome=open" class="text-reset d-block" data-testid="stuck-link-{{ row.owner.pk }}-{{ cell.stage.code }}">
              <strong>{{ cell.count }}</strong> · <span title="{% translate 'Value' %}">{{ cell.amount|money:matrix.currency }}</span>
              <div class="small text-secondary" title="{% translate 'Median / longest days in stage' %}">{% blocktranslate trimmed with median=cell.median_days|floatformat:"-1" worst=cell.worst_days %}{{ median }} / {{ worst }} d{% endblocktranslate %}</div>
            </a>
            {% if cell.stalled %}<a href="{{ list_url }}?owner={{ row.owner.pk }}&amp;stage={{ cell.stage.pk }}&amp;outcome=open&amp;stalled=1" class="badge bg-red text-red-fg mt-1" data-testid="stuck-stalled-{{ row.owner.pk }}-{{ cell.stage.code }}"><i class="ti ti-alert-triangle"></i> {% blocktranslate count counter=cell.stalled %}{{ counter }} stalled{% plural %}{{ counter }} stalled{% endblocktranslate %}</a>{% endif %}
            {% if cell.unconverted %}<div class="small text-warning" title="{% translate 'Deals without an exchange rate are counted but not in the value' %}">+{{ cell.unconverted }}</div>{% endif %}
            {% else %}<span class="text-secondary">—</span>{% endif %}
          </td>
          {% endfor %}
          <td class="text-end text-nowrap"><strong>{{ row.count }}</strong>{% if row.count %} · {{ row.amount|money:matrix.currency }}{% endif %}{% if row.stalled %}<div><span class="badge bg-red-lt">{% blocktranslate count counter=row.stalled %}{{ counter }} stalled{% plural %}{{ counter }} stalled{% endblocktranslate %}</span></div>{% endif %}</td>
        </tr>
        {% empty %}
        <tr><td colspan="{{ matrix.stages|length|add:2 }}" class="text-center text-secondary py-4">{% if matrix.hidden %}{% translate "No one has open deals in this pipeline." %}{% else %}{% translate "No one to show." %}{% endif %}</td></tr>
        {% endfor %}
      </tbody>"""


def reference(matrix: StuckMatrix) -> str:
    return engines["django"].from_string(REFERENCE).render({"matrix": matrix})


def body(html: str) -> str:
    found = re.search(r"<tbody>.*?</tbody>", html, re.DOTALL)
    assert found is not None
    return found.group(0)


def cell(stage: Stage, count: int = 0, **figures: object) -> StuckCell:
    return StuckCell(stage=stage, count=count, **figures)  # type: ignore[arg-type]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_kind_of_cell_renders_as_the_template_did(personas, language):
    pipeline = default_pipeline()
    stages = list(pipeline.stages.filter(kind="open").order_by("position"))
    assert len(stages) >= 4
    marked = User.objects.create_user(username="marked", display_name="<b>\"Tom\" & 'Jerry'</b>", is_active=False)
    s0, s1, s2, s3 = stages[:4]
    rows = [
        StuckRow(
            owner=personas.rep,
            cells=[
                cell(s0),  # empty
                cell(s1, 1, amount=Decimal("1234.56"), median_days=Decimal(3), worst_days=3),
                cell(s2, 2, amount=Decimal("0.00"), median_days=Decimal("12.5"), worst_days=30, stalled=1),
                cell(
                    s3,
                    3,
                    amount=Decimal("1234567.89"),
                    median_days=Decimal(40),
                    worst_days=41,
                    stalled=3,
                    unconverted=2,
                ),
                *[cell(s) for s in stages[4:]],
            ],
        ),
        StuckRow(
            owner=marked,
            cells=[cell(s0, 5, amount=Decimal("99.9"), median_days=Decimal("0.5"), worst_days=1, stalled=2)]
            + [cell(s) for s in stages[1:]],
        ),
        StuckRow(owner=personas.teammate, cells=[cell(s) for s in stages]),  # no open deals, shown
    ]
    matrix = StuckMatrix(pipeline=pipeline, pipelines=active_pipelines(), stages=stages, rows=rows, currency="CNY")
    with translation.override(language):
        expected = reference(matrix)
        html = f"<tbody>\n        {stuck_rows_html(matrix, reverse('opportunities:list'))}\n      </tbody>"
    assert html == expected
    # the figures themselves, in case the reference and the new code were wrong alike
    d = "d" if language == "en" else "天"
    assert f'href="/opportunities/?owner={personas.rep.pk}&amp;stage={s2.pk}&amp;outcome=open&amp;stalled=1"' in html
    assert '¥1,234.56</span>\n              <div class="small text-secondary"' in html
    assert f">12.5 / 30 {d}</div>" in html
    assert f">0.5 / 1 {d}</div>" in html
    assert "¥1,234,567.89" in html
    assert "+2</div>" in html
    assert "&lt;b&gt;&quot;Tom&quot; &amp; &#x27;Jerry&#x27;&lt;/b&gt;</a>" in html
    assert "<b>" not in html
    assert html.count("bg-red-lt") == 5  # three stalled cells, two stalled rows
    assert "<strong>6</strong> · ¥1,235,802.45" in html  # the rep's total


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("persona", ["rep", "manager", "admin"])
def test_the_page_body_equals_the_reference(personas, client_for, persona, language):
    for owner, code, days in ((personas.rep, "demo", 40), (personas.rep, "demo", 3), (personas.outsider, "needs", 20)):
        age(make_opportunity(owner, stage_code=code, amount="1234.56"), days)
    user = getattr(personas, persona)
    client = client_for(user, language)
    for query, include_empty in (("", False), ("?include_empty=1", True)):
        html = client.get(f"/opportunities/stuck/{query}").content.decode()
        with translation.override(language):
            expected = reference(stuck_matrix(user, pipeline=default_pipeline(), include_empty=include_empty))
        assert body(html) == expected
        assert "stuck-cell-" in html
