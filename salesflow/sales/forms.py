"""Forms of the opportunity pages. They parse input only; rules live in the services."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.db.models import QuerySet
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.core.bulk import BulkForm
from salesflow.core.errors import ValidationFailed
from salesflow.core.money import MoneyFormField, currency_choices, default_currency
from salesflow.parties.choices import BuyingRole
from salesflow.parties.models import Account, Contact
from salesflow.sales.choices import ForecastCategory, Outcome, StageKind
from salesflow.sales.models import Competitor, LostReason, Opportunity, Pipeline, Stage
from salesflow.sales.selectors import (
    BoardFilters,
    active_lost_reasons,
    competitors_all,
    open_stages,
    owner_filter_choices,
    pipelines_for,
    writable_accounts_for,
)
from salesflow.sales.services import default_pipeline_for
from salesflow.tags.forms import TagBulkFields, TagFilterField
from salesflow.users.choices import Role
from salesflow.users.models import Team, User
from salesflow.users.permissions import assignable_users_for

ACCOUNT_OPTIONS_LIMIT = 500
CONTACT_ROLE_PREFIX = "contact_role_"


if TYPE_CHECKING:
    _StageField = forms.ModelChoiceField[Stage]
    _UserField = forms.ModelChoiceField[User]
else:
    _StageField = _UserField = forms.ModelChoiceField


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class StageChoiceField(_StageField):
    """Shows "Pipeline · Stage" when several pipelines exist."""

    def __init__(self, *args: Any, show_pipeline: bool = False, **kwargs: Any) -> None:
        self.show_pipeline = show_pipeline
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj: Stage) -> str:
        prefix = f"{obj.pipeline.label} · " if self.show_pipeline else ""
        return f"{prefix}{obj.label} ({obj.probability}%)"


class UserChoiceField(_UserField):
    def label_from_instance(self, obj: User) -> str:
        return str(obj)


def contact_role_choices() -> list[tuple[str, Any]]:
    return [("", _("— not involved —")), *BuyingRole.choices]


class OpportunityFilterForm(forms.Form):
    """The list filters (GET). Invalid values are ignored, never an error page."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    pipeline = forms.ChoiceField(label=_("Pipeline"), required=False)
    stage = forms.ChoiceField(label=_("Stage"), required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False, choices=[("", _("All outcomes")), *Outcome.choices])
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    close_from = forms.DateField(label=_("Close date from"), required=False, widget=DateInput())
    close_to = forms.DateField(label=_("Close date to"), required=False, widget=DateInput())
    overdue = forms.BooleanField(
        label=_("Past expected close date"), required=False, widget=forms.CheckboxInput(attrs={"value": "1"})
    )
    tag = TagFilterField()  # salesflow.tags
    # stall detection (issue 7): open deals stalled now (sales.selectors.stalled_q)
    stalled = forms.BooleanField(label=_("Stalled"), required=False, widget=forms.CheckboxInput(attrs={"value": "1"}))

    def __init__(self, data: Any, *, user: User, stages: Iterable[Stage], pipelines: Iterable[Any]) -> None:
        super().__init__(data)
        pipelines = list(pipelines)
        many = len(pipelines) > 1
        cast(forms.ChoiceField, self.fields["pipeline"]).choices = [
            ("", _("All pipelines")),
            *((str(p.pk), p.label) for p in pipelines),
        ]
        cast(forms.ChoiceField, self.fields["stage"]).choices = [
            ("", _("All stages")),
            *((str(s.pk), f"{s.pipeline.label} · {s.label}" if many else s.label) for s in stages),
        ]
        for name, form_field in self.fields.items():
            css = "form-control" if name in ("q", "close_from", "close_to") else "form-select"
            form_field.widget.attrs["class"] = "form-check-input" if name in ("overdue", "stalled") else css
        self.fields["close_from"].help_text = _("Won and lost deals by their actual close date.")
        cast(forms.ChoiceField, self.fields["owner"]).choices = [
            ("", _("All owners")),
            *((str(u.pk), str(u)) for u in owner_filter_choices(user)),
        ]

    def values(self) -> dict[str, Any]:
        """Cleaned filters, dropping the invalid ones."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {name: cleaned.get(name) for name in self.fields if name not in self.errors}


class ContactRolesMixin(forms.Form):
    """Adds one ``contact_role_<id>`` select per contact of the account (the decision-maker map)."""

    def add_contact_fields(self, contacts: Iterable[Contact], initial_roles: dict[int, str]) -> None:
        self.role_contacts: list[Contact] = list(contacts)
        for contact in self.role_contacts:
            self.fields[f"{CONTACT_ROLE_PREFIX}{contact.pk}"] = forms.ChoiceField(
                label=contact.name,
                required=False,
                choices=contact_role_choices(),
                initial=initial_roles.get(contact.pk, ""),
            )

    def contact_role_fields(self) -> list[tuple[Contact, forms.BoundField]]:
        return [(c, self[f"{CONTACT_ROLE_PREFIX}{c.pk}"]) for c in self.role_contacts]

    def cleaned_contacts(self) -> list[tuple[Contact, str]]:
        return [
            (c, self.cleaned_data[f"{CONTACT_ROLE_PREFIX}{c.pk}"])
            for c in self.role_contacts
            if self.cleaned_data.get(f"{CONTACT_ROLE_PREFIX}{c.pk}")
        ]


class _OpportunityFields(ContactRolesMixin):
    name = forms.CharField(label=pgettext_lazy("opportunity", "Name"), max_length=200)
    amount = MoneyFormField(label=_("Amount"), initial=0)
    currency = forms.ChoiceField(label=_("Currency"), choices=currency_choices, initial=default_currency)
    expected_close_date = forms.DateField(label=_("Expected close date"), required=False, widget=DateInput())
    next_step = forms.CharField(label=_("Next step"), max_length=300, required=False)
    next_step_date = forms.DateField(label=_("Next step date"), required=False, widget=DateInput())
    owner = UserChoiceField(label=_("Owner"), queryset=User.objects.none())
    competitors = forms.ModelMultipleChoiceField(
        label=_("Competitors"),
        queryset=Competitor.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"data-searchable": ""}),
    )
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def _setup_common(self, user: User) -> None:
        self.fields["owner"].queryset = assignable_users_for(user)  # type: ignore[attr-defined]
        self.fields["competitors"].queryset = competitors_all()  # type: ignore[attr-defined]


class OpportunityCreateForm(_OpportunityFields):
    account = forms.ModelChoiceField(
        label=_("Account"),
        queryset=Account.objects.none(),
        widget=forms.Select(
            attrs={
                "data-searchable": "",
                "hx-get": reverse_lazy("opportunities:contact_roles"),
                "hx-target": "#contact-roles",
                "hx-trigger": "change",
            }
        ),
    )
    # the stage options follow the pipeline (htmx: opportunities:stage_options)
    # left out (older clients, scripts): the chosen stage's pipeline
    pipeline = forms.ModelChoiceField(
        label=_("Pipeline"),
        queryset=Pipeline.objects.none(),
        required=False,
        empty_label=None,
        widget=forms.Select(
            attrs={
                "hx-get": reverse_lazy("opportunities:stage_options"),
                "hx-target": "#id_stage",
                "hx-trigger": "change",
                "hx-swap": "innerHTML",
                "data-testid": "opportunity-pipeline",
            }
        ),
    )
    stage = StageChoiceField(label=_("Stage"), queryset=Stage.objects.none())

    field_order = ["account", "name", "pipeline", "stage", "amount", "currency", "expected_close_date", "owner"]

    def __init__(
        self,
        data: Any = None,
        *,
        user: User,
        account: Account | None,
        contacts: Iterable[Contact] = (),
        default_pipeline: Pipeline | None = None,
    ) -> None:
        super().__init__(data, initial={"account": account.pk if account else None, "owner": user.pk})
        self._setup_common(user)
        accounts = writable_accounts_for(user).order_by("name", "id")
        account_field = cast("forms.ModelChoiceField[Account]", self.fields["account"])
        account_field.queryset = accounts
        # Render a bounded option list (the field still validates against every writable account).
        options = list(accounts[:ACCOUNT_OPTIONS_LIMIT])
        if account is not None and account not in options:
            options.insert(0, account)
        account_field.widget.choices = [("", "---------"), *((a.pk, a.name) for a in options)]
        # Pipelines the user may start deals in (their teams'; the service checks the owner's).
        available = pipelines_for(user)
        if default_pipeline is None:
            try:
                default_pipeline = default_pipeline_for(user)
            except ValidationFailed:
                default_pipeline = None
        pipeline_field = cast("forms.ModelChoiceField[Pipeline]", self.fields["pipeline"])
        pipeline_field.queryset = available
        chosen = self._chosen_pipeline(data, available, default_pipeline)
        if chosen is not None:
            self.initial["pipeline"] = chosen.pk
        stage_field: StageChoiceField = self.fields["stage"]  # type: ignore[assignment]
        stage_field.queryset = open_stages().filter(pipeline__in=available)
        # rendered options: the chosen pipeline's open stages only
        stage_options = list(open_stages().filter(pipeline=chosen)) if chosen is not None else []
        stage_field.widget.choices = [(s.pk, stage_field.label_from_instance(s)) for s in stage_options]
        if stage_options:
            self.initial["stage"] = stage_options[0].pk
        self.add_contact_fields(contacts, {})

    @staticmethod
    def _chosen_pipeline(data: Any, available: QuerySet[Pipeline], default: Pipeline | None) -> Pipeline | None:
        """The submitted pipeline when it is one of ``available``, else the default."""
        value = data.get("pipeline") if data is not None else None
        if value and str(value).isdigit():
            found = available.filter(pk=int(value)).first()
            if found is not None:
                return found
        if default is not None and available.filter(pk=default.pk).exists():
            return default
        return available.first()


class OpportunityEditForm(_OpportunityFields):
    probability = forms.IntegerField(
        label=_("Probability (%)"),
        min_value=0,
        max_value=100,
        help_text=_("Defaults to the stage's probability; a new stage resets it."),
    )
    forecast_category = forms.ChoiceField(label=_("Forecast category"), choices=ForecastCategory.choices)
    closed_on = forms.DateField(
        label=_("Close date"),
        required=False,
        widget=DateInput(),
        help_text=_("When the deal was won or lost; never in the future."),
    )

    field_order = [
        "name",
        "amount",
        "currency",
        "probability",
        "forecast_category",
        "expected_close_date",
        "closed_on",
        "owner",
    ]

    def __init__(
        self,
        data: Any = None,
        *,
        user: User,
        opportunity: Opportunity,
        contacts: Iterable[Contact],
        initial_roles: dict[int, str],
        competitor_ids: list[int],
    ) -> None:
        initial = {
            "name": opportunity.name,
            "amount": opportunity.amount,
            "currency": opportunity.currency,
            "probability": opportunity.probability,
            "forecast_category": opportunity.forecast_category,
            "expected_close_date": opportunity.expected_close_date,
            "next_step": opportunity.next_step,
            "next_step_date": opportunity.next_step_date,
            "owner": opportunity.owner_id,
            "competitors": competitor_ids,
            "description": opportunity.description,
            "closed_on": opportunity.closed_on,
        }
        super().__init__(data, initial=initial)
        self._setup_common(user)
        self.has_closed_on = opportunity.outcome in (Outcome.WON, Outcome.LOST)
        if self.has_closed_on:
            self.fields["closed_on"].widget.attrs["max"] = timezone.localdate().isoformat()
        else:
            del self.fields["closed_on"]
        if opportunity.outcome in (Outcome.WON, Outcome.LOST):
            # A won or lost deal keeps its end stage's values (the service refuses changes).
            for name in ("probability", "forecast_category"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _("Set by the won or lost stage.")
        owner_field: UserChoiceField = self.fields["owner"]  # type: ignore[assignment]
        # The current owner stays selectable even when outside the editor's assignable set.
        owner_field.queryset = (owner_field.queryset | User.objects.filter(pk=opportunity.owner_id)).distinct()  # type: ignore[operator]
        currency_field: forms.ChoiceField = self.fields["currency"]  # type: ignore[assignment]
        if opportunity.currency not in {c for c, _label in currency_choices()}:
            currency_field.choices = [*currency_choices(), (opportunity.currency, opportunity.currency)]
        self.add_contact_fields(contacts, initial_roles)


class MoveForm(forms.Form):
    stage = forms.CharField(label=_("Stage"), max_length=50)


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[(o.value, o.label) for o in (Outcome.WON, Outcome.LOST, Outcome.PAUSED, Outcome.UPGRADED)],
        help_text=_(
            "Paused: the customer postponed the purchase; the deal comes back on the resume date. "
            "Upgraded: the need grew into a bigger deal that continues as a new opportunity; this one "
            "is closed and counts as neither won nor lost."
        ),
    )
    lost_reason = forms.ModelChoiceField(label=_("Lost reason"), queryset=LostReason.objects.none(), required=False)
    lost_to = forms.ModelChoiceField(
        label=_("Lost to competitor"),
        queryset=Competitor.objects.none(),
        required=False,
        widget=forms.Select(attrs={"data-searchable": ""}),
    )
    resume_date = forms.DateField(label=_("Resume on"), required=False, widget=DateInput())
    closed_on = forms.DateField(
        label=_("Close date"),
        required=False,
        widget=DateInput(),
        help_text=_("When the deal was won or lost (today by default; never in the future)."),
    )
    amount = MoneyFormField(label=_("Final amount"), required=False)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(
        self, data: Any = None, *, initial: dict[str, Any] | None = None, opportunity: Opportunity | None = None
    ) -> None:
        today = timezone.localdate()
        initial = {"closed_on": today, **(initial or {})}
        if opportunity is not None:
            initial.setdefault("amount", opportunity.amount)
        super().__init__(data, initial=initial)
        self.fields["lost_reason"].queryset = active_lost_reasons()  # type: ignore[attr-defined]
        self.fields["lost_to"].queryset = competitors_all()  # type: ignore[attr-defined]
        self.fields["closed_on"].widget.attrs["max"] = today.isoformat()
        if opportunity is not None:
            self.fields["amount"].help_text = _("In %(currency)s.") % {"currency": opportunity.currency}

    def service_kwargs(self) -> dict[str, Any]:
        """The cleaned values for ``opportunity_close``: a close date only for won and lost,
        a final amount only for won (the other outcomes have neither)."""
        data = self.cleaned_data
        outcome = data["outcome"]
        return {
            "outcome": outcome,
            "lost_reason": data["lost_reason"],
            "lost_to": data["lost_to"],
            "note": data["note"],
            "resume_date": data["resume_date"],
            "closed_on": data["closed_on"] if outcome in (Outcome.WON, Outcome.LOST) else None,
            "amount": data["amount"] if outcome == Outcome.WON else None,
        }


class ChangePipelineForm(forms.Form):
    """Pick the target pipeline's stage: options grouped by pipeline (pipeline, then stage)."""

    stage = forms.TypedChoiceField(label=_("New pipeline and stage"), coerce=int)

    def __init__(self, data: Any = None, *, options: list[tuple[Pipeline, list[Stage]]]) -> None:
        super().__init__(data)
        field = cast(forms.TypedChoiceField, self.fields["stage"])
        field.choices = [
            ("", "---------"),
            *((p.label, [(s.pk, f"{s.label} ({s.probability}%)") for s in stages]) for p, stages in options if stages),
        ]
        field.widget.attrs["class"] = "form-select"
        self.stages = {s.pk: s for _p, stages in options for s in stages}

    def chosen_stage(self) -> Stage:
        return self.stages[self.cleaned_data["stage"]]


class ReopenForm(forms.Form):
    stage = forms.CharField(label=_("Stage"), max_length=50, required=False)


# --- bulk actions (core.bulk) ----------------------------------------------------------------------


class OpportunityBulkForm(BulkForm, TagBulkFields):
    """The bulk bar of the opportunity list: reassign, move to a stage, tag, delete."""

    owner = forms.ModelChoiceField(label=_("New owner"), queryset=User.objects.none(), required=False)
    stage = forms.ModelChoiceField(label=_("Stage"), queryset=Stage.objects.none(), required=False)
    # managers and administrators only: moves whose entry criteria are unmet go ahead with it
    override_reason = forms.CharField(label=_("Override reason"), max_length=500, required=False, strip=False)

    FIELD_ACTIONS = {"owner": "assign", "stage": "stage", "override_reason": "stage", "tag": "tag_add tag_remove"}
    ACTIONS = [
        ("assign", _("Reassign owner")),
        ("stage", _("Move to stage")),
        ("tag_add", _("Add tag")),
        ("tag_remove", _("Remove tag")),
        ("delete", _("Delete")),
    ]

    def __init__(self, *args: Any, user: User, stages: Iterable[Stage], **kwargs: Any) -> None:
        self.may_override = user.is_admin or user.role == Role.MANAGER
        if not self.may_override:
            self.FIELD_ACTIONS = {k: v for k, v in self.FIELD_ACTIONS.items() if k != "override_reason"}  # type: ignore[misc]
        super().__init__(*args, actions=self.ACTIONS, **kwargs)
        if not self.may_override:
            del self.fields["override_reason"]
        else:
            self.fields["override_reason"].widget.attrs["placeholder"] = str(
                _("Override reason, if entry criteria are unmet")
            )
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ModelChoiceField)
        owner.queryset = assignable_users_for(user)
        owner.empty_label = str(_("New owner…"))
        open_stages = [s for s in stages if s.kind == "open"]
        stage = self.fields["stage"]
        assert isinstance(stage, forms.ModelChoiceField)
        stage.queryset = Stage.objects.filter(pk__in=[s.pk for s in open_stages]).select_related("pipeline")
        many = len({s.pipeline_id for s in open_stages}) > 1
        stage.label_from_instance = lambda s: f"{s.pipeline.label} · {s.label}" if many else s.label  # type: ignore[method-assign,assignment]
        stage.empty_label = str(_("Stage…"))


# ----------------------------------------------------------------------- board filters

MAX_DB_ID = 2**31 - 1


class MonthField(forms.Field):
    """A month typed as ``YYYY-MM`` (what ``<input type="month">`` sends); cleans to its
    first day. Years outside 1900–2999 are refused, so month arithmetic never overflows."""

    widget = forms.TextInput
    default_error_messages = {"invalid": _("Enter a month as YYYY-MM.")}

    def to_python(self, value: Any) -> date | None:
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not text:
            return None
        match = re.fullmatch(r"(\d{4})-(\d{1,2})", text)
        if match is None or not 1900 <= int(match[1]) <= 2999 or not 1 <= int(match[2]) <= 12:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return date(int(match[1]), int(match[2]), 1)


class BoardFilterForm(forms.Form):
    """The board's filters (GET, kept in the URL; also sent with every drop so the board
    is re-rendered with them). Invalid input is a form error (HTTP 400), never a 500."""

    pipeline = forms.CharField(label=_("Pipeline"), required=False, max_length=50)
    owner = forms.IntegerField(label=_("Owner"), required=False, min_value=1, max_value=MAX_DB_ID)
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    month = MonthField(label=_("Close month"), required=False)
    amount_min = MoneyFormField(label=_("Minimum amount"), required=False)
    amount_max = MoneyFormField(label=_("Maximum amount"), required=False)
    tag = forms.IntegerField(label=_("Tag"), required=False, min_value=1, max_value=MAX_DB_ID)  # salesflow.tags

    def clean_pipeline(self) -> str:
        value: str = self.cleaned_data.get("pipeline") or ""
        # an id or a code (a slug); a hostile reference is an error, not a lookup
        if value and (not re.fullmatch(r"[-a-zA-Z0-9_]+", value) or (value.isdigit() and int(value) > MAX_DB_ID)):
            raise forms.ValidationError(_("Select a valid pipeline."), code="invalid")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        low, high = cleaned.get("amount_min"), cleaned.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", _("The maximum amount cannot be below the minimum."))
        return cleaned

    def values(self) -> dict[str, Any]:
        """The valid filters only (an invalid one is shown as an error and ignored)."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {name: cleaned.get(name) for name in self.fields if name not in self.errors}

    def board_filters(self) -> BoardFilters:
        values = self.values()
        return BoardFilters(
            close_month=values.get("month"), amount_min=values.get("amount_min"), amount_max=values.get("amount_max")
        )

    def query(self) -> dict[str, str]:
        """The valid, non-empty filters as submitted (to repeat them with a drop or a link)."""
        values = self.values()
        kept = [name for name in self.fields if values.get(name) not in (None, "")]
        return {name: str(self.data.get(name, "")).strip() for name in kept}


# --- pipeline settings (administrators; sales.config_services) -------------------------------------

if TYPE_CHECKING:
    _TeamsField = forms.ModelMultipleChoiceField[Team]
else:
    _TeamsField = forms.ModelMultipleChoiceField

_CODE_HELP = _("Letters, digits, hyphens or underscores; used by the API and imports.")


class PipelineSettingsForm(forms.Form):
    """A pipeline's own fields (settings page). Rules live in ``config_services``."""

    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=100, required=False)
    name_en = forms.CharField(label=_("Name (English)"), max_length=100, required=False)
    code = forms.SlugField(label=_("Code"), max_length=50, help_text=_CODE_HELP)
    position = forms.IntegerField(label=pgettext_lazy("ordering", "Position"), min_value=0, max_value=1_000_000)
    is_active = forms.BooleanField(label=_("Active (deals can be created in it)"), required=False)
    is_default = forms.BooleanField(label=_("Default pipeline of the company"), required=False)


class PipelineCreateForm(forms.Form):
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=100, required=False)
    name_en = forms.CharField(label=_("Name (English)"), max_length=100, required=False)
    code = forms.SlugField(label=_("Code"), max_length=50, help_text=_CODE_HELP)


class PipelineCopyForm(PipelineCreateForm):
    """The copy's new code and names."""


class TeamsChoiceField(_TeamsField):
    def label_from_instance(self, obj: Team) -> str:
        return obj.name


class PipelineTeamsForm(forms.Form):
    teams = TeamsChoiceField(
        label=_("Teams that use this pipeline"),
        queryset=Team.objects.none(),
        required=False,
        help_text=_("Leave empty to make it available to every team."),
        widget=forms.SelectMultiple(attrs={"data-searchable": "", "data-testid": "pipeline-teams"}),
    )
    default_for = TeamsChoiceField(
        label=_("Default pipeline for these teams"),
        queryset=Team.objects.none(),
        required=False,
        help_text=_("New deals of these teams' members start in this pipeline."),
        widget=forms.SelectMultiple(attrs={"data-searchable": "", "data-testid": "pipeline-default-for"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("teams", "default_for"):
            self.fields[name].queryset = Team.objects.order_by("name")  # type: ignore[attr-defined]


class StageSettingsForm(forms.Form):
    """A stage's fields; ``code`` and ``kind`` only when adding one."""

    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=100, required=False)
    name_en = forms.CharField(label=_("Name (English)"), max_length=100, required=False)
    code = forms.SlugField(label=_("Code"), max_length=50, help_text=_CODE_HELP)
    kind = forms.ChoiceField(label=_("Kind"), choices=StageKind.choices, initial=StageKind.OPEN)
    probability = forms.IntegerField(label=_("Probability (%)"), min_value=0, max_value=100)
    forecast_category = forms.ChoiceField(label=_("Forecast category"), choices=ForecastCategory.choices)
    rotting_days = forms.IntegerField(
        label=_("Stall threshold (days)"),
        min_value=1,
        max_value=3650,
        required=False,
        help_text=_("A deal longer than this in the stage is shown as stalled. Empty: never."),
    )
    guidance_zh = forms.CharField(
        label=_("Guidance (Chinese)"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    guidance_en = forms.CharField(
        label=_("Guidance (English)"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    is_bant_gate = forms.BooleanField(
        label=_("BANT qualification stage"),
        required=False,
        help_text=_("Leads converted with a complete BANT skip this stage."),
    )

    def __init__(self, *args: Any, creating: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not creating:
            del self.fields["code"]
            del self.fields["kind"]
            # hiding goes through its own action (it is refused while deals sit in the stage)
            del self.fields["is_active"]


class StageOrderForm(forms.Form):
    """The new order of a pipeline's stages: stage ids, comma-separated (drag and drop)."""

    order = forms.RegexField(label=_("Order"), regex=r"^\d{1,10}(,\d{1,10}){0,199}$", max_length=2200)

    def stage_ids(self) -> list[int]:
        return [int(part) for part in self.cleaned_data["order"].split(",")]


class StageMoveForm(forms.Form):
    """One step up or down (the keyboard alternative to dragging)."""

    direction = forms.ChoiceField(choices=[("up", _("Up")), ("down", _("Down"))])


# --------------------------------------------------------------------------- stage gates


class CriterionForm(forms.Form):
    """An entry criterion of a stage (settings page). The criterion type's settings are
    asked by the fields its ``params_spec`` declares (``p_<type>_<key>``); only the chosen
    type's fields are read. The service checks everything again."""

    kind = forms.ChoiceField(label=_("Criterion type"))
    label_en = forms.CharField(label=_("Label (English)"), max_length=200, required=False)
    label_zh = forms.CharField(label=_("Label (Chinese)"), max_length=200, required=False)
    position = forms.IntegerField(
        label=pgettext_lazy("ordering", "Position"), min_value=0, max_value=10_000, required=False
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, data: Any = None, *, instance: Any = None, prefix: str | None = None) -> None:
        from salesflow.sales.gates import criterion_types

        initial: dict[str, Any] = {"is_active": True}
        if instance is not None:
            initial = {
                "kind": instance.kind,
                "label_en": instance.label_en,
                "label_zh": instance.label_zh,
                "position": instance.position,
                "is_active": instance.is_active,
            }
        super().__init__(data, initial=initial, prefix=prefix)
        types = criterion_types()
        cast(forms.ChoiceField, self.fields["kind"]).choices = [(t.code, str(t.label)) for t in types]
        self.param_groups: list[tuple[str, list[str]]] = []
        for t in types:
            names = []
            for spec in t.params_spec:
                name = f"p_{t.code}_{spec.key}"
                choices = [(code, str(label)) for code, label in spec.choices]
                field: forms.Field
                if spec.multiple:
                    field = forms.MultipleChoiceField(
                        label=str(spec.label), choices=choices, required=False, widget=forms.CheckboxSelectMultiple
                    )
                else:
                    field = forms.ChoiceField(
                        label=str(spec.label), choices=[("", "---------"), *choices], required=False
                    )
                if instance is not None and instance.kind == t.code and isinstance(instance.params, dict):
                    field.initial = instance.params.get(spec.key)
                self.fields[name] = field
                names.append(name)
            self.param_groups.append((t.code, names))

    def params_groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        """``(type code, bound fields)`` for the template (types with settings only)."""
        return [(code, [self[n] for n in names]) for code, names in self.param_groups if names]

    def service_kwargs(self) -> dict[str, Any]:
        from salesflow.sales.gates import criterion_type

        data = self.cleaned_data
        ctype = criterion_type(data["kind"])
        params: dict[str, Any] = {}
        if ctype is not None:
            for spec in ctype.params_spec:
                value = data.get(f"p_{ctype.code}_{spec.key}")
                if value not in (None, "", []):
                    params[spec.key] = value
        return {
            "kind": data["kind"],
            "params": params,
            "label_en": data["label_en"],
            "label_zh": data["label_zh"],
            "position": data["position"],
            "is_active": data["is_active"],
        }
