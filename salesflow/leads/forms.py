"""Forms for the lead pages. They parse input only; the services validate and write."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from django import forms
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.core.bulk import BulkForm
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.money import MoneyFormField, currency_choices, default_currency
from salesflow.leads.choices import BantAnswer
from salesflow.leads.models import DisqualifyReason, Lead
from salesflow.leads.selectors import disqualify_reasons, open_stages
from salesflow.leads.services import default_contact_role, default_opportunity_name
from salesflow.parties.choices import SUB_CHANNELS_BY_SOURCE, BuyingRole
from salesflow.parties.models import Account
from salesflow.parties.permissions import get_account_for_user
from salesflow.sales.models import Pipeline, Stage
from salesflow.sales.selectors import pipelines_for
from salesflow.sales.services import default_pipeline_for
from salesflow.tags.forms import TagBulkFields
from salesflow.users.models import User
from salesflow.users.permissions import assignable_users_for, can_see_unowned

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

LEAD_FORM_FIELDS = [
    "name",
    "title",
    "mobile",
    "phone",
    "email",
    "wechat",
    "company_name",
    "credit_code",
    "industry",
    "region",
    "source_channel",
    "sub_channel",
    "campaign",
    "budget_status",
    "budget_amount",
    "budget_currency",
    "authority_status",
    "need",
    "timeline",
    "owner",
    "notes",
]


class LeadForm(forms.ModelForm):  # type: ignore[type-arg]
    """Create/edit a lead. Bound to a fresh ``Lead`` so validation never touches the stored row;
    the view passes ``cleaned_data`` to ``lead_create`` / ``lead_update``."""

    budget_currency = forms.ChoiceField(
        label=_("Budget currency"), choices=currency_choices, initial=default_currency, required=False
    )

    class Meta:
        model = Lead
        fields = LEAD_FORM_FIELDS
        widgets = {
            "need": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 3}),
            "timeline": DATE_INPUT,
            "region": forms.Select(attrs={"data-searchable": ""}),
        }
        labels = {
            # Own contexts: "Name"/"Position" mean a company name / an ordering elsewhere.
            "name": pgettext_lazy("person", "Name"),
            "title": pgettext_lazy("job title", "Position"),
        }
        help_texts = {
            "mobile": _("e.g. 138 1234 5678; +86 and separators are removed."),
            "credit_code": _("18 characters, printed on the business licence."),
            "wechat": _("At least one of mobile, phone, email or WeChat ID is required."),
            "timeline": _("When the customer plans to buy."),
        }

    def __init__(self, *args: Any, user: User, lead: Lead | None = None, **kwargs: Any) -> None:
        if lead is not None:
            kwargs.setdefault("initial", forms.model_to_dict(lead, fields=LEAD_FORM_FIELDS))
        super().__init__(*args, **kwargs)
        owners = assignable_users_for(user)
        if lead is not None and lead.owner_id is not None:
            owners = (owners | User.objects.filter(pk=lead.owner_id)).distinct().order_by("display_name", "username")
        owner_field = forms.ModelChoiceField(
            queryset=owners,
            required=not can_see_unowned(user),
            label=_("Owner"),
            empty_label=str(_("Unassigned")) if can_see_unowned(user) else "---------",
        )
        self.fields["owner"] = owner_field
        if lead is None and "owner" not in self.initial and owners.filter(pk=user.pk).exists():
            self.initial["owner"] = user.pk
        self.fields["region"].queryset = self.fields["region"].queryset.order_by("parent_id", "name")  # type: ignore[attr-defined]
        # The sub-channel list follows the source channel (static/salesflow/app.js, data-options-for).
        self.fields["sub_channel"].widget.attrs.update(
            {
                "data-options-for": "source_channel",
                "data-options-map": json.dumps({k: list(v) for k, v in SUB_CHANNELS_BY_SOURCE.items()}),
            }
        )

    def service_values(self) -> dict[str, Any]:
        """The cleaned values under the services' keyword names."""
        return {key: self.cleaned_data.get(key) for key in LEAD_FORM_FIELDS}


class QualifyForm(forms.Form):
    """BANT answers; completeness is checked by ``lead_qualify``, which names what is missing."""

    budget_status = forms.ChoiceField(label=_("Budget confirmed"), choices=BantAnswer.choices)
    budget_amount = MoneyFormField(label=_("Budget"), required=False)
    authority_status = forms.ChoiceField(label=_("Talking to the decision maker"), choices=BantAnswer.choices)
    need = forms.CharField(label=_("Need"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    timeline = forms.DateField(label=_("Purchase timeline"), widget=DATE_INPUT, required=False)
    # evidence notes (佐证说明): how each answer is known
    budget_evidence = forms.CharField(label=_("Budget evidence"), max_length=500, required=False)
    authority_evidence = forms.CharField(label=_("Decision-maker evidence"), max_length=500, required=False)
    timeline_evidence = forms.CharField(label=_("Timeline evidence"), max_length=500, required=False)

    @classmethod
    def for_lead(cls, lead: Lead) -> QualifyForm:
        form = cls(
            initial={
                "budget_status": lead.budget_status,
                "budget_amount": lead.budget_amount,
                "authority_status": lead.authority_status,
                "need": lead.need,
                "timeline": lead.timeline,
                "budget_evidence": lead.budget_evidence,
                "authority_evidence": lead.authority_evidence,
                "timeline_evidence": lead.timeline_evidence,
            },
            prefix="bant",
        )
        # The budget is in the lead's currency (JPY has no decimals): say which.
        form.fields["budget_amount"].label = _("Budget (%(currency)s)") % {"currency": lead.budget_currency}
        return form


class HandOffForm(forms.Form):
    """The note of an MQL → SQL hand-off (移交)."""

    note = forms.CharField(label=_("Hand-off note"), max_length=500, required=False)


class DisqualifyForm(forms.Form):
    reason = forms.ModelChoiceField(
        label=_("Reason"), queryset=DisqualifyReason.objects.none(), to_field_name="code", empty_label=None
    )
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = disqualify_reasons()  # type: ignore[attr-defined]


class StageChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Stage) -> str:  # type: ignore[override]
        return f"{obj.pipeline.label} · {obj.label}"


class ConvertForm(forms.Form):
    """Options for ``lead_convert``. The account id is resolved with write access here."""

    MODE_NEW = "new"
    MODE_EXISTING = "existing"

    account_mode = forms.ChoiceField(
        label=_("Account"),
        choices=[(MODE_NEW, _("Create a new account")), (MODE_EXISTING, _("Link an existing account"))],
        widget=forms.RadioSelect(attrs={"class": "form-check-input", "data-testid": "convert-account-mode"}),
        initial=MODE_NEW,
    )
    account = forms.IntegerField(label=_("Existing account"), required=False, widget=forms.Select)
    create_contact = forms.BooleanField(label=_("Create a contact from the person"), required=False, initial=True)
    contact_role = forms.ChoiceField(label=_("Buying role"), choices=BuyingRole.choices)
    create_opportunity = forms.BooleanField(label=_("Create an opportunity"), required=False, initial=True)
    opportunity_name = forms.CharField(label=_("Opportunity name"), max_length=200, required=False)
    amount = MoneyFormField(label=_("Amount"), required=False)
    expected_close_date = forms.DateField(label=_("Expected close date"), widget=DATE_INPUT, required=False)
    pipeline = forms.ModelChoiceField(
        label=_("Pipeline"),
        queryset=Pipeline.objects.none(),
        required=False,
        empty_label=_("Default pipeline of the owner's team"),
        widget=forms.Select(attrs={"data-testid": "convert-pipeline"}),
    )
    stage = StageChoiceField(
        label=_("Pipeline stage"),
        queryset=Stage.objects.none(),
        required=False,
        empty_label=_("Default: the stage after the BANT stage (first stage if the BANT is incomplete)"),
    )

    def __init__(self, *args: Any, user: User, lead: Lead, suggestions: list[Account], **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "contact_role": default_contact_role(lead),
                "opportunity_name": default_opportunity_name(lead),
                "amount": lead.budget_amount,
                "expected_close_date": lead.timeline,
            },
        )
        super().__init__(*args, **kwargs)
        self.user = user
        self.resolved_account: Account | None = None
        # the pipelines the deal's owner (the lead's owner, else the converter) may use
        owner = lead.owner or user
        available = pipelines_for(owner)
        self.fields["pipeline"].queryset = available  # type: ignore[attr-defined]
        self.fields["stage"].queryset = open_stages().filter(pipeline__in=available)  # type: ignore[attr-defined]
        if not self.is_bound:
            with contextlib.suppress(ValidationFailed):
                self.initial["pipeline"] = default_pipeline_for(owner).pk
        options: list[tuple[Any, str]] = [("", str(_("Search for an account…")))]
        seen = set()
        for account in suggestions:
            options.append((account.pk, account.name))
            seen.add(account.pk)
        chosen = self.data.get("account") if self.is_bound else None
        if chosen and str(chosen).isdigit() and int(chosen) not in seen:
            try:
                extra = get_account_for_user(user, chosen)
                options.append((extra.pk, extra.name))
            except Http404:
                pass
        account_widget = self.fields["account"].widget
        account_widget.choices = options  # type: ignore[attr-defined]
        account_widget.attrs.update({"data-account-search": "", "data-testid": "convert-account"})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("account_mode") == self.MODE_EXISTING:
            pk = data.get("account")
            if pk is None:
                self.add_error("account", _("Choose the account to link."))
            else:
                try:
                    self.resolved_account = get_account_for_user(self.user, pk, write=True)
                except Http404:
                    self.add_error("account", _("Choose an account you can see."))
                except Forbidden as exc:
                    self.add_error("account", str(exc.message))
        return data


# --- bulk actions (core.bulk) ----------------------------------------------------------------------


class LeadBulkForm(BulkForm, TagBulkFields):
    """The bulk bar of the lead list: reassign, change status, tag, delete."""

    owner = forms.ModelChoiceField(label=_("New owner"), queryset=User.objects.none(), required=False)
    reason = forms.ModelChoiceField(label=_("Reason"), queryset=DisqualifyReason.objects.none(), required=False)

    FIELD_ACTIONS = {"owner": "assign", "reason": "disqualify", "tag": "tag_add tag_remove"}
    ACTIONS = [
        ("assign", _("Reassign owner")),
        ("contacted", _("Mark as contacted")),
        ("disqualify", _("Disqualify")),
        ("reopen", _("Reopen")),
        ("tag_add", _("Add tag")),
        ("tag_remove", _("Remove tag")),
        ("delete", _("Delete")),
    ]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, actions=self.ACTIONS, **kwargs)
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ModelChoiceField)
        owner.queryset = assignable_users_for(user)
        owner.empty_label = str(_("New owner…"))
        reason = self.fields["reason"]
        assert isinstance(reason, forms.ModelChoiceField)
        reason.queryset = disqualify_reasons()
        reason.empty_label = str(_("Reason…"))
