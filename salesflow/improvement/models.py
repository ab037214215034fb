"""DMAIC improvement projects (流程改进, issue 11).

A :class:`Project` names a problem — a process metric (``process.observations.PROCESS_METRICS``
key, with a stage when the metric needs one), a segment (node, pipeline, industry, size), a
target value and a baseline window — and walks the phases define → measure → analyse →
improve → control → closed. Its baseline is measured from history and stored with the time
it was measured. :class:`Action` rows are the changes made, each with an owner, a due date
and the date it was done (the change date the "after" observations start from). Entering
control stores the control plan: XmR limits from the post-change observations, and the day
through which the daily check has looked for drift.

Values are stored in the metric's *display unit*: days for durations (time in stage is
measured in seconds and divided by 86,400), the fraction 0–1 for rates.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

TITLE_MAX_LENGTH = 200
PROBLEM_MAX_LENGTH = 4000
ACTION_MAX_LENGTH = 500


#: the labels of ``process.observations.PROCESS_METRICS`` as this app shows them (own
#: context, so they are translated here whatever the process catalogue holds)
METRIC_LABELS = {
    "time_in_stage": pgettext_lazy("process metric", "Time in stage"),
    "cycle_time": pgettext_lazy("process metric", "Cycle time (won deals)"),
    "win_rate": pgettext_lazy("process metric", "Win rate"),
    "rework_rate": pgettext_lazy("process metric", "Regression rate"),
}


class Phase(models.TextChoices):
    DEFINE = "define", pgettext_lazy("dmaic", "Define")
    MEASURE = "measure", pgettext_lazy("dmaic", "Measure")
    ANALYSE = "analyse", pgettext_lazy("dmaic", "Analyse")
    IMPROVE = "improve", pgettext_lazy("dmaic", "Improve")
    CONTROL = "control", pgettext_lazy("dmaic", "Control")
    CLOSED = "closed", pgettext_lazy("dmaic", "Closed")


PHASE_ORDER: tuple[str, ...] = tuple(Phase.values)


class NodeKind(models.TextChoices):
    COMPANY = "company", _("Whole company")
    TEAM = "team", _("Team")
    REP = "rep", _("Rep")


class Project(models.Model):
    """One improvement project. The segment's node is stored as (kind, id) so the list can
    be filtered by the reader's visible teams and people with an index."""

    title = models.CharField(_("title"), max_length=TITLE_MAX_LENGTH)
    problem = models.TextField(_("problem statement"), max_length=PROBLEM_MAX_LENGTH)
    metric_key = models.CharField(_("metric"), max_length=30)
    stage = models.ForeignKey(
        "sales.Stage", verbose_name=_("stage"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    node_kind = models.CharField(_("node"), max_length=10, choices=NodeKind.choices)
    node_id = models.PositiveIntegerField(null=True, blank=True)
    pipeline = models.ForeignKey(
        "sales.Pipeline", verbose_name=_("pipeline"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    industry = models.CharField(_("industry"), max_length=40, blank=True)
    size = models.CharField(_("size"), max_length=20, blank=True)
    target_value = models.DecimalField(_("target value"), max_digits=14, decimal_places=4)
    baseline_start = models.DateField(_("baseline from"))
    baseline_end = models.DateField(_("baseline to"))
    phase = models.CharField(_("phase"), max_length=10, choices=Phase.choices, default=Phase.DEFINE)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # the baseline, measured from history (display unit)
    baseline_n = models.PositiveIntegerField(null=True, blank=True)
    baseline_mean = models.FloatField(null=True, blank=True)
    baseline_p50 = models.FloatField(null=True, blank=True)
    baseline_p80 = models.FloatField(null=True, blank=True)
    baseline_measured_at = models.DateTimeField(null=True, blank=True)
    # the control plan, set on entering control (display unit)
    control_from = models.DateField(null=True, blank=True)
    control_through = models.DateField(null=True, blank=True)  # last day of the limit-setting data
    control_n = models.PositiveIntegerField(null=True, blank=True)
    control_centre = models.FloatField(null=True, blank=True)
    control_ucl = models.FloatField(null=True, blank=True)
    control_lcl = models.FloatField(null=True, blank=True)
    control_sigma = models.FloatField(null=True, blank=True)
    control_set_at = models.DateTimeField(null=True, blank=True)
    control_checked_through = models.DateField(null=True, blank=True)
    control_last_drift_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-updated_at", "-pk")
        indexes = [
            # projects_visible_to: a manager's teams and people, newest first
            models.Index(fields=["node_kind", "node_id", "-updated_at"], name="impr_node_idx"),
            # projects_visible_to: the projects a person owns
            models.Index(fields=["owner", "-updated_at"], name="impr_owner_idx"),
            # tasks.check_control_plans: the projects under control
            models.Index(fields=["phase", "control_checked_through"], name="impr_phase_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def node_key(self) -> str:
        return "company" if self.node_kind == NodeKind.COMPANY else f"{self.node_kind}:{self.node_id}"

    @property
    def metric_label(self) -> str:

        return str(METRIC_LABELS.get(self.metric_key, self.metric_key))

    @property
    def is_rate(self) -> bool:
        from salesflow.process.observations import PROCESS_METRICS

        metric = PROCESS_METRICS.get(self.metric_key)
        return metric is not None and metric.unit == "rate"

    @property
    def baseline_percent(self) -> float | None:
        return None if self.baseline_mean is None else self.baseline_mean * 100


class Action(models.Model):
    """A change made for the project: what, who, by when, and when it was done (the change
    date; observations after it are compared with the baseline)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="actions")
    description = models.CharField(pgettext_lazy("improvement", "action"), max_length=ACTION_MAX_LENGTH)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="+"
    )
    due_on = models.DateField(pgettext_lazy("improvement", "due date"), null=True, blank=True)
    done_on = models.DateField(_("done on (change date)"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("project", "pk")

    def __str__(self) -> str:
        return self.description[:80]
