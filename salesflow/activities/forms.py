"""Forms for the activity pages. They parse input only; rules live in ``services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.activities.choices import ActivityKind, EscalationAction
from salesflow.activities.models import Activity
from salesflow.core.bulk import BulkForm
from salesflow.users.models import User
from salesflow.users.permissions import assignable_users_for, visible_owner_ids

DATETIME_INPUT = "%Y-%m-%dT%H:%M"


class _DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"


class _DateInput(forms.DateInput):
    input_type = "date"


MAX_RECORD_ID = 2**63 - 1


class RecordField(forms.Field):
    """A linked record chosen through the remote search (``data-record-search``): an id.

    The view resolves the id through the record's access function (unseen → field error);
    the select lists only the current choice, the search fills in the rest.
    """

    widget = forms.Select

    def __init__(self, *, kind: str, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.kind = kind
        self.widget.attrs.update({"data-record-search": kind, "class": "form-select"})
        self.set_choice(None)

    def set_choice(self, record: Any) -> None:
        """The options shown before any search: empty, and ``record`` when one is linked."""
        choices: list[tuple[Any, str]] = [("", "—")]
        if record is not None:
            choices.append((record.pk, record_label(record)))
        self.widget.choices = choices  # type: ignore[attr-defined]

    def to_python(self, value: Any) -> int | None:
        text = str(value if value is not None else "").strip()
        if not text:
            return None
        if not text.isdigit() or not 0 < int(text) <= MAX_RECORD_ID:
            raise forms.ValidationError(_("Select a valid record."), code="invalid")
        return int(text)


def record_label(record: Any) -> str:
    """How a linked record is named in the link selects and the search results."""
    account = getattr(record, "account", None) if hasattr(record, "account_id") else None
    company = getattr(record, "company_name", "")
    if account is not None:
        return f"{record} · {account}"
    if company:
        return f"{record} · {company}"
    return str(record)


class QuickLogForm(forms.Form):
    """The compact form of the record panel: what happened (or is planned) and what comes next."""

    kind = forms.ChoiceField(label=_("Type"), choices=ActivityKind.choices, initial=ActivityKind.CALL)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    due_at = forms.DateTimeField(
        label=_("Due"), required=False, widget=_DateTimeInput(format=DATETIME_INPUT), input_formats=[DATETIME_INPUT]
    )
    # Logging (the panel) starts as done; the page script unticks it while the due time is in
    # the future, until the user touches the box (``data-done-from-due``).
    done = forms.BooleanField(label=_("Done"), required=False, initial=True)
    outcome = forms.CharField(label=_("Outcome"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    next_follow_up = forms.DateField(label=_("Next follow-up"), required=False, widget=_DateInput(format="%Y-%m-%d"))

    def service_kwargs(self) -> dict[str, Any]:
        """Cleaned values named as the services expect them."""
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "subject": data["subject"],
            "due_at": data.get("due_at"),
            "done": bool(data.get("done")),
            "outcome": data.get("outcome") or "",
            "next_follow_up": data.get("next_follow_up"),
        }


class ActivityForm(QuickLogForm):
    """Create and edit form. ``owner`` is offered only to users who may assign records.

    ``done`` starts unticked (a new task or follow-up is planned work); the create view
    ticks it when the user logs what happened. The link fields take record ids found by
    the remote search; ``links`` (name → record) are the records currently chosen.
    """

    field_order = [
        "kind",
        "subject",
        "owner",
        "due_at",
        "done",
        "outcome",
        "next_follow_up",
        "opportunity",
        "account",
        "contact",
        "lead",
        "description",
    ]

    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False)
    opportunity = RecordField(kind="opportunity", label=_("Opportunity"))
    account = RecordField(kind="account", label=_("Account"))
    contact = RecordField(kind="contact", label=_("Contact"))
    lead = RecordField(kind="lead", label=_("Lead"))

    def __init__(
        self,
        *args: Any,
        user: User,
        current_owner: User | None = None,
        links: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["done"].initial = False
        for name, record in (links or {}).items():
            field = self.fields[name]
            assert isinstance(field, RecordField)
            field.set_choice(record)
            self.initial.setdefault(name, record.pk if record is not None else None)
        assignable = assignable_users_for(user)
        # Sales support never assigns work: their activities are their own.
        if not assignable.filter(pk=user.pk).exists():
            del self.fields["owner"]
            return
        current = current_owner or user
        field = self.fields["owner"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = User.objects.filter(Q(pk__in=assignable.values("pk")) | Q(pk=current.pk)).order_by(
            "display_name", "username"
        )
        field.empty_label = None
        field.widget.attrs["data-searchable"] = ""
        self.initial.setdefault("owner", current.pk)

    @classmethod
    def initial_for(cls, activity: Activity) -> dict[str, Any]:
        return {
            "kind": activity.kind,
            "subject": activity.subject,
            "description": activity.description,
            "owner": activity.owner_id,
            "due_at": activity.due_at,
            "done": activity.done,
            "outcome": activity.outcome,
            "next_follow_up": activity.next_follow_up,
            "lead": activity.lead_id,
            "account": activity.account_id,
            "contact": activity.contact_id,
            "opportunity": activity.opportunity_id,
        }

    def link_ids(self) -> dict[str, int | None]:
        """The chosen record id of each link field (cleaned)."""
        return {name: self.cleaned_data.get(name) for name in ("lead", "account", "contact", "opportunity")}

    def service_kwargs(self) -> dict[str, Any]:
        kwargs = super().service_kwargs()
        kwargs["description"] = self.cleaned_data.get("description") or ""
        if "owner" in self.fields and self.cleaned_data.get("owner") is not None:
            kwargs["owner"] = self.cleaned_data["owner"]
        return kwargs


class CompleteForm(forms.Form):
    outcome = forms.CharField(label=_("Outcome"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    next_follow_up = forms.DateField(label=_("Next follow-up"), required=False, widget=_DateInput(format="%Y-%m-%d"))

    def mark_required(self, requirements: dict[str, bool] | None) -> None:
        """Show the fields the kind's settings require when done (issue 7); the service enforces them."""
        for name, needed in (requirements or {}).items():
            if needed and name in self.fields:
                self.fields[name].required = True


# --- follow-up discipline (issue 7) ------------------------------------------------------------


class CheckInForm(forms.Form):
    """A visit's check-in: the browser fills ``lat``/``lng`` (navigator.geolocation) or the
    rep types the address. Values are parsed and range-checked by ``activity_check_in``."""

    lat = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)
    lng = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)
    address = forms.CharField(label=_("Address"), required=False, max_length=300)


_NUMBER = {"class": "form-control form-control-sm"}
_CHECK = {"class": "form-check-input"}


class PolicyForm(forms.Form):
    every_days = forms.IntegerField(
        label=_("Follow up every (days)"), min_value=1, max_value=365, widget=forms.NumberInput(attrs=_NUMBER)
    )
    grace_days = forms.IntegerField(
        label=_("Grace period (days)"), min_value=0, max_value=365, widget=forms.NumberInput(attrs=_NUMBER)
    )


class KindConfigForm(forms.Form):
    needs_outcome = forms.BooleanField(
        label=_("Needs an outcome"), required=False, widget=forms.CheckboxInput(attrs=_CHECK)
    )
    needs_next_follow_up = forms.BooleanField(
        label=_("Needs a next follow-up date"), required=False, widget=forms.CheckboxInput(attrs=_CHECK)
    )
    counts_as_follow_up = forms.BooleanField(
        label=_("Counts as a follow-up"), required=False, widget=forms.CheckboxInput(attrs=_CHECK)
    )


class EscalationStepForm(forms.Form):
    position = forms.IntegerField(
        label=pgettext_lazy("ladder step", "Position"),
        min_value=1,
        max_value=20,
        widget=forms.NumberInput(attrs=_NUMBER),
    )
    after_days_over = forms.IntegerField(
        label=_("Days overdue"), min_value=0, max_value=365, widget=forms.NumberInput(attrs=_NUMBER)
    )
    action = forms.ChoiceField(
        label=_("Action"),
        choices=EscalationAction.choices,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    delete = forms.BooleanField(label=_("Remove"), required=False, widget=forms.CheckboxInput(attrs=_CHECK))


DONE_CHOICES = [("", _("Any status")), ("open", pgettext_lazy("activity state", "Open")), ("done", _("Done"))]


class ActivityFilterForm(forms.Form):
    """List filters (GET). Invalid values are ignored rather than reported."""

    q = forms.CharField(label=_("Search"), required=False)
    kind = forms.ChoiceField(label=_("Type"), required=False, choices=[("", _("All types")), *ActivityKind.choices])
    done = forms.ChoiceField(label=_("Status"), required=False, choices=DONE_CHOICES)
    owner = forms.TypedChoiceField(label=_("Owner"), required=False, coerce=int, empty_value=None)
    due_from = forms.DateField(label=_("Due from"), required=False, widget=_DateInput(format="%Y-%m-%d"))
    due_to = forms.DateField(label=_("Due to"), required=False, widget=_DateInput(format="%Y-%m-%d"))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ids = visible_owner_ids(user)
        users = User.objects.filter(is_active=True)
        if ids is not None:
            users = users.filter(pk__in=ids)
        choices: list[tuple[Any, Any]] = [("", _("Anyone")), (user.pk, _("Me"))]
        choices += [(u.pk, str(u)) for u in users.exclude(pk=user.pk).order_by("display_name", "username")[:300]]
        owner = self.fields["owner"]
        assert isinstance(owner, forms.TypedChoiceField)
        owner.choices = choices
        owner.widget.attrs["data-searchable"] = ""
        for name, field in self.fields.items():
            if name != "q":
                css = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
                field.widget.attrs["class"] = css

    def filters(self) -> dict[str, Any]:
        """Selector keyword arguments from the valid fields."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        done = {"open": False, "done": True}.get(data.get("done") or "")
        return {
            "q": data.get("q") or "",
            "kind": data.get("kind") or "",
            "done": done,
            "owner": data.get("owner"),
            "due_from": data.get("due_from"),
            "due_to": data.get("due_to"),
        }


# --- bulk actions (core.bulk) ----------------------------------------------------------------------


class ActivityBulkForm(BulkForm):
    """The bulk bar of the activity list: reassign, mark done, delete."""

    owner = forms.ModelChoiceField(label=_("New owner"), queryset=User.objects.none(), required=False)

    FIELD_ACTIONS = {"owner": "assign"}
    ACTIONS = [("assign", _("Reassign owner")), ("complete", _("Mark as done")), ("delete", _("Delete"))]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, actions=self.ACTIONS, **kwargs)
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ModelChoiceField)
        owner.queryset = assignable_users_for(user)
        owner.empty_label = str(_("New owner…"))
