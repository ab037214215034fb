"""Pipelines, stages (as data), opportunities and their stage history."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.core.models import TimestampedModel, TranslatedNameModel
from salesflow.core.money import MoneyField
from salesflow.parties.choices import BuyingRole
from salesflow.parties.models import Account, Contact
from salesflow.sales.choices import ForecastCategory, HistoryField, Outcome, StageKind, StallRecipient
from salesflow.users.models import Team


class Pipeline(TranslatedNameModel, TimestampedModel):
    """A sales process (B2B complex, B2C simple, …). Exactly one is the default."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    is_default = models.BooleanField(_("default"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(pgettext_lazy("ordering", "position"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_pipeline"),
        ]


class Stage(TranslatedNameModel, TimestampedModel):
    """One step of a pipeline. ``probability`` and ``forecast_category`` are the defaults
    an opportunity takes when it enters the stage (the won and lost stages' values too);
    ``kind`` marks the won/lost ends. A stage that was ever used is hidden
    (``is_active=False``) rather than deleted, so its history stays readable; changes go
    through ``salesflow.sales.config_services``."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages", verbose_name=_("pipeline"))
    code = models.SlugField(_("code"), max_length=50)
    position = models.PositiveIntegerField(pgettext_lazy("ordering", "position"))
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    forecast_category = models.CharField(
        _("forecast category"), max_length=20, choices=ForecastCategory.choices, default=ForecastCategory.PIPELINE
    )
    kind = models.CharField(_("kind"), max_length=10, choices=StageKind.choices, default=StageKind.OPEN)
    rotting_days = models.PositiveIntegerField(_("stall threshold (days)"), null=True, blank=True)
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("Hidden stages take no new deals and leave the board; their history stays readable."),
    )
    guidance_en = models.TextField(_("guidance (English)"), blank=True)
    guidance_zh = models.TextField(_("guidance (Chinese)"), blank=True)
    # The pipeline's BANT qualification stage (at most one per pipeline, an open stage):
    # a lead converted with a complete BANT skips it and starts at the next open stage.
    is_bant_gate = models.BooleanField(
        _("BANT qualification stage"),
        default=False,
        help_text=_(
            "Leads converted with a complete BANT (budget, authority, need, timeline) skip this stage "
            "and start at the next open stage."
        ),
    )

    class Meta:
        ordering = ["pipeline", "position"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "code"], name="stage_code_unique"),
            models.UniqueConstraint(fields=["pipeline", "position"], name="stage_position_unique"),
            models.CheckConstraint(condition=Q(probability__lte=100), name="stage_probability_range"),
            models.UniqueConstraint(fields=["pipeline"], condition=Q(is_bant_gate=True), name="one_bant_stage"),
        ]

    @property
    def is_open(self) -> bool:
        return self.kind == StageKind.OPEN

    @property
    def guidance(self) -> str:
        from django.utils.translation import get_language

        if (get_language() or "").startswith("zh") and self.guidance_zh:
            return self.guidance_zh
        return self.guidance_en or self.guidance_zh


class LostReason(TranslatedNameModel, TimestampedModel):
    """Why deals are lost (configuration data)."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(pgettext_lazy("ordering", "position"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("lost reason")
        verbose_name_plural = _("lost reasons")


class Competitor(TimestampedModel):
    """A company we compete with for deals."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    website = models.CharField(_("website"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("competitor")
        verbose_name_plural = _("competitors")

    def __str__(self) -> str:
        return self.name


class Opportunity(TimestampedModel):
    """A deal (商机). Stage, probability and forecast category move together through
    ``opportunity_move_stage``; ``outcome`` is ``open`` until the deal is closed, paused
    or upgraded. ``stage_entered_at`` is when the current stage was entered."""

    name = models.CharField(_("name"), max_length=200)
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("account")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("owner")
    )
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="+", verbose_name=_("pipeline"))
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("stage"))
    # Exact hundredths in the database (see salesflow.core.money); a Decimal here.
    amount = MoneyField(_("amount"), default=Decimal("0.00"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    forecast_category = models.CharField(
        _("forecast category"), max_length=20, choices=ForecastCategory.choices, default=ForecastCategory.PIPELINE
    )
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    next_step = models.CharField(_("next step"), max_length=300, blank=True)
    next_step_date = models.DateField(_("next step date"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.OPEN)
    lost_reason = models.ForeignKey(
        LostReason, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("lost reason")
    )
    lost_to = models.ForeignKey(
        Competitor, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("lost to")
    )
    outcome_note = models.TextField(_("outcome note"), blank=True)
    resume_date = models.DateField(_("resume date"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # The actual close date of a won or lost deal, chosen when closing (default today,
    # never in the future); null while open, paused or upgraded.
    closed_on = models.DateField(_("close date"), null=True, blank=True)
    # The configured order of the deal's stage as one sortable number (``stage_rank_of``:
    # pipeline position, pipeline id, stage position), so the list's stage sort walks the
    # index ``opp_stage_rank_idx`` instead of sorting every row by two joined tables. Kept by
    # ``services._record_stage_change`` and ``selectors.refresh_stage_ranks`` (stage and
    # pipeline reordering, bulk loads).
    stage_rank = models.BigIntegerField(default=0, db_default=0, editable=False)
    # The date lists, the API and reports filter and sort "by close date": ``closed_on``
    # for won and lost deals, else ``expected_close_date``. Kept by the services.
    close_date = models.DateField(_("close date (actual or expected)"), null=True, blank=True)
    stage_entered_at = models.DateTimeField(_("in stage since"), default=timezone.now)
    competitors = models.ManyToManyField(
        Competitor, blank=True, related_name="opportunities", verbose_name=_("competitors")
    )
    contacts: models.ManyToManyField[Contact, OpportunityContact] = models.ManyToManyField(
        Contact, through="OpportunityContact", blank=True, related_name="opportunities", verbose_name=_("contacts")
    )
    description = models.TextField(_("description"), blank=True)

    # tags (标签) on this record: salesflow.tags; deleted with the record
    tagged_items = GenericRelation("tags.TaggedItem")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="opportunity_amount_non_negative"),
            models.CheckConstraint(condition=Q(probability__lte=100), name="opportunity_probability_range"),
        ]
        indexes = [
            # board: WHERE pipeline=? AND outcome='open' [AND owner IN …] grouped by stage
            models.Index(fields=["pipeline", "stage", "outcome"], name="opp_board_idx"),
            # issue 11 (forecast submissions): a rep's open deals by close date and forecast category
            models.Index(
                fields=["owner", "outcome", "expected_close_date", "forecast_category"], name="opp_owner_forecast_idx"
            ),
            models.Index(fields=["owner", "stage"], name="opp_owner_stage_idx"),
            # list sorts
            models.Index(fields=["expected_close_date", "id"], name="opp_close_date_idx"),
            # close-date filter and sort (actual for closed deals, expected for open ones)
            models.Index(fields=["close_date", "id"], name="opp_eff_close_idx"),
            # "won this month": WHERE outcome='won' AND closed_on BETWEEN …
            # (+ the columns issue 10's figures read: won revenue, deal stats and cycle time of
            # the company come from the index alone; + id: funnel math's fingerprints of the
            # stored months, SUM(id) per owner and month, on PostgreSQL, whose indexes do not
            # carry the row id as SQLite's do; + account: new customers, the won deals of the
            # period that are their account's first, read their account from here)
            models.Index(
                fields=["outcome", "closed_on", "owner", "currency", "amount", "created_at", "id", "account"],
                name="opp_outcome_closed_idx",
            ),
            # issue 10 figures of a node's people: WHERE owner_id IN (…) AND outcome=? AND closed_on
            # in the window, covering (money facts, deal stats, open deals by owner and currency;
            # + id: the stored months' fingerprints of a team, on PostgreSQL)
            models.Index(
                fields=["owner", "outcome", "closed_on", "currency", "amount", "created_at", "id"],
                name="opp_owner_outcome_closed_idx",
            ),
            # new customers: NOT EXISTS (an earlier win of the same account, ties broken by id),
            # index only (+ id for PostgreSQL)
            models.Index(fields=["account", "outcome", "closed_on", "id"], name="opp_account_won_idx"),
            models.Index(fields=["amount", "id"], name="opp_amount_idx"),
            # the list filtered by stage and sorted by amount (the biggest deals of a stage):
            # WHERE stage_id=? [AND owner visible] ORDER BY amount DESC, id DESC LIMIT n, walked
            # inside the stage (opp_amount_idx walked every stage: 850 rows for a manager's 26
            # at bench scale 0.1); owner lets SQLite test the owner before reading the row
            models.Index(fields=["stage", "amount", "id", "owner"], name="opp_stage_amount_idx"),
            models.Index(fields=["created_at", "id"], name="opp_created_idx"),
            models.Index(fields=["name", "id"], name="opp_name_idx"),
            models.Index(fields=["stage_rank", "id"], name="opp_stage_rank_idx"),
            # "My day": deals without a next step / next step due
            models.Index(fields=["owner", "outcome", "next_step_date"], name="opp_owner_next_idx"),
            # My day (team): each owner's open deals — the four section counts read this index
            # alone (stage and stage entry for the stall rule, the dates), and the stalled deals
            # come first in stage_entered_at order
            models.Index(
                fields=["owner", "outcome", "stage_entered_at", "stage", "expected_close_date", "next_step_date", "id"],
                name="opp_owner_day_idx",
            ),
            # My day (team): the team's open deals in the order of a list, walked from the first
            # and filtered by owner inside the index (a department's rows are about every fifth):
            # past the expected close date / closing this month (expected_close_date, id) and
            # stalled (stage_entered_at, id; the stall rule reads stage). Only open deals: the
            # global indexes on these columns walked every closed deal first (PostgreSQL read 13,000
            # closed deals for 20 past-close ones at bench scale 0.1).
            models.Index(
                fields=["expected_close_date", "id", "owner"], name="opp_open_close_idx", condition=Q(outcome="open")
            ),
            models.Index(
                fields=["stage_entered_at", "id", "owner", "stage"],
                name="opp_open_entered_idx",
                condition=Q(outcome="open"),
            ),
            # My day (team): each owner's open deals without a next-step date, oldest first
            models.Index(
                fields=["owner", "outcome", "next_step_date", "created_at", "id"], name="opp_owner_no_next_idx"
            ),
            # board column totals (sales.selectors.board): WHERE pipeline=? AND outcome='open'
            # GROUP BY stage, currency, probability — covering, in GROUP BY order, so an
            # administrator's board aggregates from the index alone without a sort.
            models.Index(
                fields=[
                    "pipeline",
                    "outcome",
                    "stage",
                    "currency",
                    "probability",
                    "owner",
                    "amount",
                    "stage_entered_at",
                ],
                name="opp_board_totals_idx",
            ),
            # the same totals for a manager or rep: ... AND owner_id IN (…) OR id IN (shares),
            # covering, reached per owner (SQLite's multi-index OR, PostgreSQL's index scan).
            models.Index(
                fields=[
                    "pipeline",
                    "outcome",
                    "owner",
                    "stage",
                    "currency",
                    "probability",
                    "amount",
                    "stage_entered_at",
                ],
                name="opp_board_owner_totals_idx",
            ),
            # account visibility, access follows the work (users.policy.work_links_q):
            # EXISTS (deal WHERE account_id = account.id AND (owner_id IN (…) OR …)), index only
            models.Index(fields=["account", "owner"], name="opp_account_owner_idx"),
            # board cards: WHERE stage=? AND outcome='open' AND expected_close_date IS NOT NULL
            # ORDER BY expected_close_date, id LIMIT 20 (owner_id to filter without the table).
            models.Index(fields=["stage", "outcome", "expected_close_date", "id", "owner"], name="opp_board_cards_idx"),
            # stall detection (sales.selectors.stalled_q: the job escalate_stalled, the list's
            # ?stalled=1): WHERE stage_id=? AND outcome='open' AND stage_entered_at < ?, per stage
            models.Index(fields=["stage", "outcome", "stage_entered_at", "owner"], name="opp_stall_idx"),
            # "where is each rep stuck" (sales.selectors.stuck_matrix, the median query):
            # WHERE pipeline=? AND outcome='open' [AND owner IN …] numbered per owner × stage
            # by stage_entered_at, id — read in that order, so the window needs no sort
            models.Index(
                fields=["pipeline", "outcome", "owner", "stage", "stage_entered_at", "id"], name="opp_stuck_median_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.outcome == Outcome.OPEN

    @property
    def is_past_close(self) -> bool:
        """An open deal whose expected close date has passed (in the reader's time zone)."""
        return (
            self.outcome == Outcome.OPEN
            and self.expected_close_date is not None
            and self.expected_close_date < timezone.localdate()
        )


class OpportunityContact(models.Model):
    """A contact's buying role on one deal (the decision-maker map)."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="contact_roles")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="opportunity_roles")
    role = models.CharField(_("buying role"), max_length=20, choices=BuyingRole.choices, default=BuyingRole.OTHER)

    class Meta:
        verbose_name = _("opportunity contact")
        verbose_name_plural = _("opportunity contacts")
        constraints = [
            models.UniqueConstraint(fields=["opportunity", "contact"], name="opp_contact_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.contact} ({self.get_role_display()})"


class StageChange(models.Model):
    """One stage transition of one opportunity: who, when, from, to and how long the deal
    spent in ``from_stage``. Rows are only ever added.

    The snapshot columns (positions, owner, owner's team, amount, currency, probability)
    hold the values *at the time of the change*, so regressions and time in stage by team
    stay right after stages are reordered or people change teams. Rows written before
    the snapshot existed were backfilled from the deal as it was at migration time (the
    best available approximation)."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    duration_seconds = models.BigIntegerField(null=True, blank=True)
    from_position = models.PositiveIntegerField(_("from position"), null=True, blank=True)
    to_position = models.PositiveIntegerField(_("to position"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    owner_team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("owner's team")
    )
    amount = MoneyField(_("amount"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    probability = models.PositiveSmallIntegerField(_("probability (%)"), null=True, blank=True)
    # stage gates: a move back (to a lower position of the same pipeline) is a regression;
    # a forward move whose entry criteria were unmet and a manager overrode them is marked.
    is_regression = models.BooleanField(_("regression"), default=False)
    gate_overridden = models.BooleanField(_("gate overridden"), default=False)

    class Meta:
        ordering = ["changed_at", "id"]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        indexes = [
            # an opportunity's history in order
            # (+ to_position, to_stage: "advanced to a later stage" and funnel math's stage
            # passes of the closed deals read the index alone)
            models.Index(fields=["opportunity", "changed_at", "to_position", "to_stage"], name="stagechange_opp_idx"),
            # process metrics: time in stage by stage over a period (+ owner, opportunity: the
            # stage conversion report counts distinct deals per owner from the index alone; + id:
            # the stored months' fingerprints, SUM(id) per stage and owner, on PostgreSQL)
            models.Index(
                fields=["to_stage", "changed_at", "owner", "opportunity", "to_position", "id"],
                name="stagechange_stage_idx",
            ),
            # the daily time-in-stage statistic (sales.services.stage_dwell_stats_compute):
            # exits of each stage by team, ordered by duration, since a date
            models.Index(
                fields=["from_stage", "owner_team", "duration_seconds", "changed_at"], name="stagechange_exit_idx"
            ),
            # work reports (workreports.selectors.stage_moves_of): the moves of deals a person
            # owned at the time, and the moves a person made, in a period
            # (+ to_stage, opportunity: a team's stage conversion per owner window, index only)
            models.Index(
                fields=["owner", "changed_at", "to_stage", "opportunity", "to_position"], name="stagechange_owner_idx"
            ),
            models.Index(fields=["changed_by", "changed_at"], name="stagechange_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage_id} → {self.to_stage_id}"


class OpportunityFieldChange(models.Model):
    """One change of one tracked field of a deal (amount, expected close date,
    probability, forecast category, stage, owner, pipeline, outcome), written by the
    services in the same transaction as the change; creation writes the initial values
    (``old_*`` empty). Rows are only ever added; forecasting and "what changed this
    week" read them instead of reconstructing history from mutable rows.

    ``old_value``/``new_value`` are the text form (codes, ids, ISO dates, decimal
    strings); the typed columns hold the same value for the field's type: amounts in
    ``*_amount`` (with ``currency``), dates in ``*_date``, probabilities and the ids of
    stage, owner and pipeline in ``*_number``.
    """

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="field_changes")
    field = models.CharField(_("field"), max_length=30, choices=HistoryField.choices)
    old_value = models.CharField(_("old value"), max_length=200, blank=True)
    new_value = models.CharField(_("new value"), max_length=200, blank=True)
    old_amount = MoneyField(_("old amount"), null=True, blank=True)
    new_amount = MoneyField(_("new amount"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    old_date = models.DateField(_("old date"), null=True, blank=True)
    new_date = models.DateField(_("new date"), null=True, blank=True)
    old_number = models.BigIntegerField(_("old number"), null=True, blank=True)
    new_number = models.BigIntegerField(_("new number"), null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        ordering = ["changed_at", "id"]
        verbose_name = _("opportunity field change")
        verbose_name_plural = _("opportunity field changes")
        indexes = [
            # "changes of field X between two dates" (forecasting, "what changed this week")
            models.Index(fields=["field", "changed_at"], name="oppfield_field_time_idx"),
            # "history of deal Y", in order
            models.Index(fields=["opportunity", "changed_at"], name="oppfield_opp_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id}.{self.field}: {self.old_value} → {self.new_value}"


class TeamPipeline(models.Model):
    """A team uses a pipeline. A pipeline without rows is available to every team; with
    rows, to the members of those teams and of the teams below them (and always to
    administrators). Changed through ``config_services.pipeline_set_teams``."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+", verbose_name=_("team"))
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.CASCADE, related_name="team_links", verbose_name=_("pipeline")
    )

    class Meta:
        verbose_name = _("team pipeline")
        verbose_name_plural = _("team pipelines")
        constraints = [
            # also the index of "pipelines of these teams" (sales.selectors.pipelines_for)
            models.UniqueConstraint(fields=["team", "pipeline"], name="team_pipeline_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.team_id} → {self.pipeline_id}"


class TeamDefaultPipeline(models.Model):
    """The pipeline a team's new deals start in (the nearest team up the tree that has one;
    else the global default). At most one per team."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="+", verbose_name=_("team"))
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.CASCADE, related_name="default_for_teams", verbose_name=_("pipeline")
    )

    class Meta:
        verbose_name = _("team default pipeline")
        verbose_name_plural = _("team default pipelines")

    def __str__(self) -> str:
        return f"{self.team_id} → {self.pipeline_id}"


class StageCriterion(TimestampedModel):
    """One entry criterion (准入条件) of a stage: a deal may move forward into ``stage`` only
    when every active criterion is met (``salesflow.sales.gates``). ``kind`` names a
    criterion type of the registry (built in: fields, checklist, decision maker, attachment;
    activities and leads add theirs); ``params`` are that type's settings, checked by the
    type when saved. ``label_*`` is what people read (the type's own description when blank;
    a checklist item needs one)."""

    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="criteria", verbose_name=_("stage"))
    kind = models.CharField(_("criterion type"), max_length=40)
    params = models.JSONField(_("settings"), default=dict, blank=True)
    label_en = models.CharField(_("label (English)"), max_length=200, blank=True)
    label_zh = models.CharField(_("label (Chinese)"), max_length=200, blank=True)
    position = models.PositiveIntegerField(pgettext_lazy("ordering", "position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["stage", "position", "id"]
        verbose_name = _("entry criterion")
        verbose_name_plural = _("entry criteria")
        indexes = [
            # gates.criteria_of(stage ids): WHERE stage_id IN (…) AND is_active ORDER BY position
            models.Index(fields=["stage", "is_active", "position"], name="stagecrit_stage_idx"),
        ]

    @property
    def label(self) -> str:
        from django.utils.translation import get_language

        lang = (get_language() or "").lower()
        if lang.startswith("zh") and self.label_zh:
            return self.label_zh
        return self.label_en or self.label_zh

    def __str__(self) -> str:
        return self.label or self.kind


class OpportunityChecklistTick(models.Model):
    """A checklist criterion ticked on one deal (by whom, when). Unticking deletes the row."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="checklist_ticks")
    criterion = models.ForeignKey(StageCriterion, on_delete=models.CASCADE, related_name="ticks")
    ticked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ticked_at = models.DateTimeField(_("ticked at"), default=timezone.now)

    class Meta:
        verbose_name = _("checklist tick")
        verbose_name_plural = _("checklist ticks")
        constraints = [
            # also serves the gate evaluation: WHERE opportunity_id IN (…) AND criterion_id IN (…)
            models.UniqueConstraint(fields=["opportunity", "criterion"], name="opp_checklist_tick_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.criterion_id}"


class StageDwellStat(models.Model):
    """The team's own time in a stage: the 80th percentile (nearest rank) of
    ``StageChange.duration_seconds`` over the exits from ``stage`` (changes whose
    ``from_stage`` is the stage) of deals owned by members of ``team`` at the time
    (``StageChange.owner_team``; ``team`` NULL = deals whose owner had no team), within
    the last ``STALL_STAT_WINDOW_DAYS``. Recomputed by the daily job
    ``sales.compute_stage_dwell_stats`` (``sales.services.stage_dwell_stats_compute``);
    read by the stall rule (``sales.selectors.stall_rules``) in one query, so lists and
    boards never aggregate history."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    p80_seconds = models.BigIntegerField(_("80th percentile (seconds)"))
    sample_size = models.PositiveIntegerField(_("exits"))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("time-in-stage statistic")
        verbose_name_plural = _("time-in-stage statistics")
        constraints = [
            models.UniqueConstraint(fields=["team", "stage"], name="stage_dwell_team_stage_unique"),
            models.UniqueConstraint(
                fields=["stage"], condition=Q(team__isnull=True), name="stage_dwell_no_team_stage_unique"
            ),
        ]
        # stall_rules(): WHERE stage_id IN (…) AND sample_size >= 30 — served by the unique
        # (team, stage) index for a few stages; the table holds teams × stages rows only.

    def __str__(self) -> str:
        return f"{self.team_id}/{self.stage_id}: p80 {self.p80_seconds}s of {self.sample_size}"


class StallEscalationStep(TimestampedModel):
    """One step of the stall escalation ladder (data, edited in Settings → Pipelines → Stall
    escalation through ``config_services.stall_step_save``, audited): once a deal has
    been stalled for ``after_days_stalled`` days, notify ``notify``. Each step fires once
    per stall episode (a deal's stay in one stage: see ``StallNotice``)."""

    after_days_stalled = models.PositiveIntegerField(_("after days stalled"))
    notify = models.CharField(_("notify"), max_length=20, choices=StallRecipient.choices)
    position = models.PositiveIntegerField(pgettext_lazy("ordering", "position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "after_days_stalled", "id"]
        verbose_name = _("stall escalation step")
        verbose_name_plural = _("stall escalation steps")

    def __str__(self) -> str:
        return f"+{self.after_days_stalled}d → {self.notify}"


class StallNotice(models.Model):
    """One escalation step applied to one stall episode of one deal: the key that makes the
    daily job idempotent. An episode is identified by the deal and when it entered its
    current stage (``stage_entered_at``): moving the deal starts a new episode.

    ``skipped``: the step was passed over because the deal had already reached a later step
    when the job saw it (first run, or after a gap: ``core.escalation.catch_up``) — recorded
    so it is never taken later, with no event and no notification. ``digest``: the step's
    notification went out in one digest to its recipient rather than on its own."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="+")
    step = models.ForeignKey(StallEscalationStep, on_delete=models.CASCADE, related_name="+")
    stage_entered_at = models.DateTimeField()
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    skipped = models.BooleanField(default=False)
    digest = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("stall notice")
        verbose_name_plural = _("stall notices")
        constraints = [
            # escalate_stalled(): the existing notices of a batch of deals, and the race guard
            models.UniqueConstraint(
                fields=["opportunity", "step", "stage_entered_at"], name="stall_notice_episode_unique"
            ),
        ]


#: Widths of the three parts of ``Opportunity.stage_rank`` (bits; 21 + 27 + 15 = 63).
_RANK_POSITION_BITS = 21
_RANK_PIPELINE_ID_BITS = 27
_RANK_STAGE_BITS = 15


def stage_rank_of(pipeline_position: int, pipeline_id: int, stage_position: int) -> int:
    """The deal list's stage order as one integer: pipeline position, then pipeline id,
    then stage position — the order of ``(pipeline.position, pipeline_id,
    stage.position)`` for every value that fits its width (positions up to 2,097,151 and
    32,767, pipeline ids up to 134,217,727; larger values are clamped), and always a
    non-negative signed 64-bit number."""
    position = min(max(pipeline_position, 0), (1 << _RANK_POSITION_BITS) - 1)
    pid = min(max(pipeline_id, 0), (1 << _RANK_PIPELINE_ID_BITS) - 1)
    stage = min(max(stage_position, 0), (1 << _RANK_STAGE_BITS) - 1)
    return (((position << _RANK_PIPELINE_ID_BITS) | pid) << _RANK_STAGE_BITS) | stage


class StuckBucket(models.Model):
    """The open deals of one owner in one stage, currency and month of stage entry (UTC): the
    maintained aggregate behind "where is each rep stuck" (``selectors.stuck_matrix``).

    Kept exact and live by the services that move deals (``sales.stuck``: create, stage
    move, reassignment, amount or currency change, close, reopen, pipeline move, delete),
    each adjusting the old and the new bucket in its own transaction; rebuilt from the deals
    by ``stuck_buckets_rebuild`` after bulk loads that bypass the services (demo, benchmark).
    ``amount_hi`` / ``amount_lo`` are the sums of ``amount // SUM_SPLIT`` and
    ``amount % SUM_SPLIT`` in hundredths (``core.money.money_sum_annotations``: exact and
    overflow-free); ``oldest`` is the earliest ``stage_entered_at`` in the bucket."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    month = models.DateField()
    count = models.PositiveIntegerField(default=0)
    amount_hi = models.BigIntegerField(default=0)
    amount_lo = models.BigIntegerField(default=0)
    oldest = models.DateTimeField()

    class Meta:
        verbose_name = _("stuck matrix bucket")
        verbose_name_plural = _("stuck matrix buckets")
        constraints = [
            # one row per bucket; also the matrix's read: WHERE pipeline=? [AND owner IN …]
            models.UniqueConstraint(
                fields=["pipeline", "owner", "stage", "month", "currency"], name="stuck_bucket_unique"
            ),
        ]
