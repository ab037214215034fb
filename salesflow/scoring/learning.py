"""The learned model (预测模型): logistic regression on a lead's intake features, trained on
won/lost history and kept only when it beats the base rate on held-out leads.

Labels: a lead is positive when it was converted and its deal was won; negative when it
was disqualified, or converted and its deal was lost. Open leads and open deals are not
labelled. The BANT answers are deliberately not features: only qualified leads can be
converted, so they would leak the label and flatter the model.

Honesty: the newest quarter of the labelled leads (by creation time) is held out; the
model is scored there by ROC-AUC and Brier score, and the Brier score of always
predicting the training base rate is reported beside it. The model is *shown* only when
its ROC-AUC is above ``MIN_AUC`` and its Brier score is below the base rate's; otherwise
the verdict says it is no better than the base rate and the model stays hidden.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.core.audit import record_event
from salesflow.leads.choices import LeadStatus
from salesflow.leads.models import Lead
from salesflow.parties.models import Account
from salesflow.sales.choices import Outcome
from salesflow.scoring.models import LearnedModel

MIN_AUC = 0.55
DEFAULT_MIN_LABELLED = 200
DEFAULT_MIN_PER_CLASS = 30
HOLDOUT_SHARE = 0.25


class NotEnoughHistory(Exception):
    """Too few labelled leads (or too few of one class) to train honestly."""


@dataclass(frozen=True)
class TrainReport:
    """What a training run found (also stored on the ``LearnedModel`` row)."""

    n_train: int
    n_test: int
    base_rate: float
    roc_auc: float
    brier: float
    brier_base: float
    shown: bool
    verdict: str


def model_dir() -> Path:
    return Path(getattr(settings, "SALESFLOW_MODEL_DIR", settings.DATA_DIR / "models"))


def lead_features(lead: Lead, size: str = "") -> dict[str, Any]:
    """The intake features of ``lead`` as a dict for ``DictVectorizer`` (one-hot strings)."""
    return {
        "industry": lead.industry or "-",
        "size": size or "-",
        "source_channel": lead.source_channel or "-",
        "sub_channel": lead.sub_channel or "-",
        "has_title": float(bool(lead.title.strip())),
        "has_email": float(bool(lead.email)),
        "has_mobile": float(bool(lead.mobile)),
        "has_credit_code": float(bool(lead.credit_code)),
        "has_region": float(lead.region_id is not None),
    }


def sizes_for(leads: list[Lead]) -> dict[int, str]:
    """Company size per lead id from its account (converted, else same company key): one query."""
    keys = {lead.company_key for lead in leads if lead.company_key}
    converted = {lead.converted_account_id for lead in leads if lead.converted_account_id}
    if not keys and not converted:
        return {}
    by_id: dict[int, str] = {}
    by_key: dict[str, str] = {}
    for pk, key, size in Account.objects.filter(Q(pk__in=converted) | Q(name_key__in=keys)).values_list(
        "pk", "name_key", "size"
    ):
        by_id[pk] = size
        if key and size:
            by_key.setdefault(key, size)
    return {lead.pk: by_id.get(lead.converted_account_id or 0) or by_key.get(lead.company_key, "") for lead in leads}


def labelled_history() -> tuple[list[dict[str, Any]], list[int], list[datetime]]:
    """(features, labels, created_at) of every labelled lead, oldest first."""
    won = Q(status=LeadStatus.CONVERTED, converted_opportunity__outcome=Outcome.WON)
    lost = Q(status=LeadStatus.DISQUALIFIED) | Q(
        status=LeadStatus.CONVERTED, converted_opportunity__outcome=Outcome.LOST
    )
    leads = list(Lead.objects.filter(won | lost).select_related("converted_opportunity").order_by("created_at", "pk"))
    sizes = sizes_for(leads)
    features = [lead_features(lead, sizes.get(lead.pk, "")) for lead in leads]
    labels = [
        int(
            lead.status == LeadStatus.CONVERTED
            and lead.converted_opportunity is not None
            and lead.converted_opportunity.outcome == Outcome.WON
        )
        for lead in leads
    ]
    return features, labels, [lead.created_at for lead in leads]


def fit_and_evaluate(
    features: list[dict[str, Any]],
    labels: list[int],
    *,
    min_labelled: int = DEFAULT_MIN_LABELLED,
    min_per_class: int = DEFAULT_MIN_PER_CLASS,
) -> tuple[Any, TrainReport]:
    """Train on the oldest rows, evaluate on the newest ``HOLDOUT_SHARE`` (rows are in time
    order). Raises ``NotEnoughHistory`` with a message saying what is missing."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.pipeline import make_pipeline

    positives = sum(labels)
    negatives = len(labels) - positives
    if len(labels) < min_labelled or positives < min_per_class or negatives < min_per_class:
        raise NotEnoughHistory(
            _(
                "Not enough history to train a model: %(n)d labelled leads (%(won)d won, %(lost)d lost or "
                "disqualified); at least %(min)d are needed, with at least %(per)d of each."
            )
            % {"n": len(labels), "won": positives, "lost": negatives, "min": min_labelled, "per": min_per_class}
        )
    cut = len(labels) - max(1, int(len(labels) * HOLDOUT_SHARE))
    x_train, y_train = features[:cut], labels[:cut]
    x_test, y_test = features[cut:], labels[cut:]
    if len(set(y_train)) < 2 or len(set(y_test)) < 2:
        raise NotEnoughHistory(
            _("The newest leads are all of one outcome, so the model cannot be tested on them; train later.")
        )
    model = make_pipeline(DictVectorizer(sparse=False), LogisticRegression(max_iter=1000))
    model.fit(x_train, y_train)
    proba = [float(p) for p in model.predict_proba(x_test)[:, 1]]
    base_rate = sum(y_train) / len(y_train)
    auc = float(roc_auc_score(y_test, proba))
    brier = float(brier_score_loss(y_test, proba))
    brier_base = sum((y - base_rate) ** 2 for y in y_test) / len(y_test)
    shown = bool(math.isfinite(auc) and auc > MIN_AUC and brier < brier_base)
    numbers = {"auc": auc, "brier": brier, "base": brier_base, "rate": base_rate * 100}
    if shown:
        verdict = (
            _(
                "Better than the base rate on held-out leads: ROC-AUC %(auc).3f, Brier score %(brier).3f "
                "against %(base).3f for always predicting the base rate (%(rate).1f%%). "
                "It is shown beside the rule score."
            )
            % numbers
        )
    else:
        verdict = (
            _(
                "No better than the base rate on held-out leads: ROC-AUC %(auc).3f, Brier score %(brier).3f "
                "against %(base).3f for always predicting the base rate (%(rate).1f%%). It is not shown."
            )
            % numbers
        )
    report = TrainReport(
        n_train=len(y_train),
        n_test=len(y_test),
        base_rate=base_rate,
        roc_auc=auc,
        brier=brier,
        brier_base=brier_base,
        shown=shown,
        verdict=verdict,
    )
    return model, report


def train_lead_model(
    *,
    actor: Any = None,
    min_labelled: int = DEFAULT_MIN_LABELLED,
    min_per_class: int = DEFAULT_MIN_PER_CLASS,
) -> LearnedModel:
    """Train on the database's history, store the model file under ``model_dir()`` and a
    ``LearnedModel`` row with its metrics. Raises ``NotEnoughHistory`` (nothing stored).
    Audits ``scoring.model.trained``."""
    import joblib

    features, labels, _times = labelled_history()
    model, report = fit_and_evaluate(features, labels, min_labelled=min_labelled, min_per_class=min_per_class)
    now = timezone.now()
    folder = model_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"lead_model_{now:%Y%m%d%H%M%S%f}.joblib"
    joblib.dump(model, path)
    with transaction.atomic():
        row = LearnedModel.objects.create(
            trained_at=now,
            algorithm="logistic_regression",
            path=str(path),
            n_train=report.n_train,
            n_test=report.n_test,
            base_rate=report.base_rate,
            roc_auc=report.roc_auc,
            brier=report.brier,
            brier_base=report.brier_base,
            shown=report.shown,
            verdict=report.verdict,
            features=sorted(features[0]) if features else [],
        )
        record_event(
            actor=actor,
            verb="scoring.model.trained",
            target=row,
            data={
                "roc_auc": f"{report.roc_auc:.4f}",
                "brier": f"{report.brier:.4f}",
                "brier_base": f"{report.brier_base:.4f}",
                "shown": report.shown,
            },
        )
    return row


def current_model() -> LearnedModel | None:
    """The newest trained model, whether shown or not (the newest verdict is the one that counts)."""
    return LearnedModel.objects.order_by("-trained_at", "-id").first()


@lru_cache(maxsize=4)
def _load(path: str) -> Any:
    import joblib

    return joblib.load(path)


def learned_probability(lead: Lead) -> tuple[float, LearnedModel] | None:
    """The newest model's probability that ``lead`` is won, when that model is shown
    (beats the base rate) and its file is readable; else ``None``."""
    row = current_model()
    if row is None or not row.shown:
        return None
    try:
        model = _load(row.path)
    except (OSError, ValueError, EOFError):
        return None
    size = sizes_for([lead]).get(lead.pk, "")
    proba = float(model.predict_proba([lead_features(lead, size)])[0, 1])
    return proba, row
