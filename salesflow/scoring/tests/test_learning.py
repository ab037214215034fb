"""The learned model is honest: real signal → shown and better than the base rate; pure
noise → "no better than the base rate", not shown; too little history → refused."""

from __future__ import annotations

import random
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from salesflow.activities.tests.factories import make_account, make_opportunity
from salesflow.leads.choices import LeadStatus
from salesflow.leads.models import Lead
from salesflow.scoring.learning import NotEnoughHistory, fit_and_evaluate, labelled_history, train_lead_model
from salesflow.scoring.models import LearnedModel

pytestmark = pytest.mark.django_db
INDUSTRIES = ["it", "finance", "retail", "education", "energy", "logistics"]


def history(personas, n: int, *, signal: bool, seed: int = 7) -> None:
    """``n`` labelled leads, oldest first; with ``signal`` IT and finance leads mostly win."""
    rng = random.Random(seed)
    account = make_account(personas.rep)
    won = make_opportunity(account, amount="1000")
    lost = make_opportunity(account, amount="1000")
    type(won).objects.filter(pk=won.pk).update(outcome="won")
    type(lost).objects.filter(pk=lost.pk).update(outcome="lost")
    start = timezone.now() - timedelta(days=n)
    rows = []
    for i in range(n):
        industry = rng.choice(INDUSTRIES)
        p = (0.8 if industry in ("it", "finance") else 0.15) if signal else 0.4
        positive = rng.random() < p
        converted_lost = not positive and rng.random() < 0.5
        rows.append(
            Lead(
                name=f"线索{i}",
                mobile=f"137{i:08d}",
                source_channel=rng.choice(["inbound", "outbound"]),
                industry=industry,
                owner=personas.rep,
                created_at=start + timedelta(days=i),
                status=LeadStatus.CONVERTED if positive or converted_lost else LeadStatus.DISQUALIFIED,
                converted_opportunity=won if positive else (lost if converted_lost else None),
            )
        )
    Lead.objects.bulk_create(rows)


def test_real_signal_is_shown_and_beats_the_base_rate(personas, tmp_path, client_for) -> None:
    history(personas, 400, signal=True)
    with override_settings(SALESFLOW_MODEL_DIR=tmp_path):
        row = train_lead_model()
        assert row.shown is True
        assert row.roc_auc > 0.7
        assert row.brier < row.brier_base
        assert row.n_test == 100 and row.n_train == 300
        assert "Better than the base rate" in row.verdict
        assert (tmp_path / row.path.split("/")[-1]).exists()
        # shown beside the rule score on the lead page's score panel and in the API
        lead = Lead.objects.filter(industry="it").first()
        assert lead is not None
        panel = client_for(personas.rep).get(reverse("scoring:lead_panel", args=[lead.pk]))
        assert b'data-testid="learned-probability"' in panel.content


def test_pure_noise_is_no_better_than_the_base_rate_and_not_shown(personas, tmp_path, api_for) -> None:
    history(personas, 400, signal=False)
    with override_settings(SALESFLOW_MODEL_DIR=tmp_path):
        row = train_lead_model()
        assert row.shown is False
        assert "No better than the base rate" in row.verdict
        lead = Lead.objects.first()
        assert lead is not None
        assert api_for(personas.rep).get(f"/leads/{lead.pk}/score").json()["learned"] is None


def test_too_little_history_is_refused_with_a_clear_message(personas, tmp_path) -> None:
    history(personas, 50, signal=True)
    with override_settings(SALESFLOW_MODEL_DIR=tmp_path), pytest.raises(NotEnoughHistory, match="Not enough history"):
        train_lead_model()
    assert not LearnedModel.objects.exists()
    with override_settings(SALESFLOW_MODEL_DIR=tmp_path), pytest.raises(CommandError, match="at least 200"):
        call_command("train_lead_model")


def test_the_command_reports_the_metrics(personas, tmp_path) -> None:
    history(personas, 400, signal=True)
    out = StringIO()
    with override_settings(SALESFLOW_MODEL_DIR=tmp_path):
        call_command("train_lead_model", "--min-labelled", "100", stdout=out)
    text = out.getvalue()
    assert "ROC-AUC" in text and "base-rate Brier" in text and "SHOWN" in text


def test_labels_come_from_won_and_lost_history(personas) -> None:
    history(personas, 40, signal=True)
    Lead.objects.create(name="open", mobile="13600000000", source_channel="inbound", owner=personas.rep)
    _features, labels, times = labelled_history()
    assert len(labels) == 40 and times == sorted(times)
    won = Lead.objects.filter(converted_opportunity__outcome="won").count()
    assert sum(labels) == won


def test_one_class_only_is_refused() -> None:
    features = [{"industry": "it"} for _ in range(300)]
    with pytest.raises(NotEnoughHistory):
        fit_and_evaluate(features, [1] * 300)
