"""Forms of the approval pages (the services validate again and decide)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from salesflow.approvals.choices import ApproverType, Operator, StepMode
from salesflow.approvals.conditions import BOOL, FACT_LABELS, FACT_TYPES, INT, LIST
from salesflow.approvals.models import COMMENT_LENGTH, MAX_HOURS, MAX_LEVELS, NAME_LENGTH
from salesflow.core.approvals import approvables
from salesflow.users.choices import Role
from salesflow.users.models import User

CONDITION_ROWS = 4
STEP_ROWS = 4
#: kinds rules may name before their document app registers them (quotes and contracts plug in later)
KNOWN_KINDS = {
    "quotes.quote": _("Quote"),
    "contracts.contract": _("Contract"),
    "contracts.change_order": _("Change order"),
}


def kind_choices() -> list[tuple[str, Any]]:
    found: dict[str, Any] = dict(KNOWN_KINDS)
    for item in approvables():
        found[item.kind] = item.label
    return sorted(found.items())


def _style(form: forms.Form) -> None:
    """Tabler classes on every widget (the templates lay the rows out themselves)."""
    for bound in form:
        widget = bound.field.widget
        kind = getattr(widget, "input_type", None)
        css = "form-check-input" if kind == "checkbox" else "form-select" if kind == "select" else "form-control"
        if isinstance(widget, forms.SelectMultiple):
            css = "form-select"
        widget.attrs["class"] = css


def _users() -> Any:
    return User.objects.filter(is_active=True).exclude(username="system").order_by("display_name", "username")


class DecisionForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"), max_length=COMMENT_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    to_step = forms.IntegerField(label=_("Return to"), min_value=0, max_value=100, required=False)
    step = forms.IntegerField(min_value=1, max_value=100, required=False, widget=forms.HiddenInput)


class DelegationForm(forms.Form):
    user = forms.ModelChoiceField(queryset=User.objects.none(), label=_("Approver who is away"), required=False)
    delegate = forms.ModelChoiceField(queryset=User.objects.none(), label=_("Delegate"))
    starts_on = forms.DateField(label=_("First day away"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("Last day away"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, admin: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("user", "delegate"):
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = _users()
        if not admin:
            del self.fields["user"]
        _style(self)


class RuleForm(forms.Form):
    """A rule with up to ``CONDITION_ROWS`` conditions and ``STEP_ROWS`` steps (empty rows
    are left out). ``rule_data()`` gives the service's arguments."""

    kind = forms.ChoiceField(label=_("Document type"))
    name = forms.CharField(label=_("Name"), max_length=NAME_LENGTH)
    priority = forms.IntegerField(label=_("Priority (lower first)"), min_value=0, max_value=10_000, initial=100)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    remind_after_hours = forms.IntegerField(
        label=_("Remind after (hours, 0 = never)"), min_value=0, max_value=MAX_HOURS, initial=24
    )
    escalate_after_hours = forms.IntegerField(
        label=_("Escalate after (hours, 0 = never)"), min_value=0, max_value=MAX_HOURS, initial=72
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind_field = self.fields["kind"]
        assert isinstance(kind_field, forms.ChoiceField)
        kind_field.choices = kind_choices()
        facts = [("", "—"), *[(key, FACT_LABELS[key]) for key in FACT_TYPES]]
        for i in range(CONDITION_ROWS):
            self.fields[f"c{i}_fact"] = forms.ChoiceField(label=_("Fact"), choices=facts, required=False)
            self.fields[f"c{i}_operator"] = forms.ChoiceField(
                label=_("Operator"), choices=Operator.choices, required=False
            )
            self.fields[f"c{i}_value"] = forms.CharField(
                label=_("Condition value"),
                max_length=500,
                required=False,
                help_text=_("Several values: separate with commas."),
            )
        for i in range(STEP_ROWS):
            self.fields[f"s{i}_name"] = forms.CharField(label=_("Step"), max_length=NAME_LENGTH, required=False)
            self.fields[f"s{i}_approver_type"] = forms.ChoiceField(
                label=_("Approvers"), choices=ApproverType.choices, required=False
            )
            self.fields[f"s{i}_users"] = forms.ModelMultipleChoiceField(
                queryset=_users(), label=_("Users"), required=False
            )
            self.fields[f"s{i}_levels"] = forms.IntegerField(
                label=_("Manager levels"), min_value=1, max_value=MAX_LEVELS, initial=1, required=False
            )
            self.fields[f"s{i}_role"] = forms.ChoiceField(
                label=_("Role"), choices=[("", "—"), *Role.choices], required=False
            )
            self.fields[f"s{i}_mode"] = forms.ChoiceField(
                label=_("Who must approve"), choices=StepMode.choices, required=False
            )
        _style(self)

    def condition_rows(self) -> list[list[forms.BoundField]]:
        return [[self[f"c{i}_{p}"] for p in ("fact", "operator", "value")] for i in range(CONDITION_ROWS)]

    def step_rows(self) -> list[list[forms.BoundField]]:
        parts = ("name", "approver_type", "users", "levels", "role", "mode")
        return [[self[f"s{i}_{p}"] for p in parts] for i in range(STEP_ROWS)]

    @staticmethod
    def _value(fact: str, operator: str, raw: str) -> Any:
        kind = FACT_TYPES.get(fact)
        if kind == BOOL:
            return None
        parts = [p.strip() for p in raw.replace("，", ",").split(",") if p.strip()]
        if kind == INT:
            try:
                numbers: list[Any] = [int(p) for p in parts]
            except ValueError:
                numbers = parts
            return numbers if operator in (Operator.IN, Operator.NOT_IN) else (numbers[0] if numbers else "")
        if operator in (Operator.IN, Operator.NOT_IN) or (kind == LIST and len(parts) > 1):
            return parts
        return raw.strip()

    def rule_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        conditions = []
        for i in range(CONDITION_ROWS):
            fact = data.get(f"c{i}_fact") or ""
            if fact:
                operator = data.get(f"c{i}_operator") or ""
                conditions.append(
                    {
                        "fact": fact,
                        "operator": operator,
                        "value": self._value(fact, operator, data.get(f"c{i}_value", "")),
                    }
                )
        steps = []
        for i in range(STEP_ROWS):
            name = (data.get(f"s{i}_name") or "").strip()
            if name:
                steps.append(
                    {
                        "name": name,
                        "approver_type": data.get(f"s{i}_approver_type") or "",
                        "user_ids": [u.pk for u in data.get(f"s{i}_users") or []],
                        "levels": data.get(f"s{i}_levels") or 1,
                        "role": data.get(f"s{i}_role") or "",
                        "mode": data.get(f"s{i}_mode") or StepMode.ANY,
                    }
                )
        return {
            "kind": data["kind"],
            "name": data["name"],
            "priority": data["priority"],
            "active": data["active"],
            "remind_after_hours": data["remind_after_hours"],
            "escalate_after_hours": data["escalate_after_hours"],
            "conditions": conditions,
            "steps": steps,
        }

    @classmethod
    def initial_for(cls, rule: Any) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "kind": rule.kind,
            "name": rule.name,
            "priority": rule.priority,
            "active": rule.active,
            "remind_after_hours": rule.remind_after_hours,
            "escalate_after_hours": rule.escalate_after_hours,
        }
        for i, c in enumerate(list(rule.conditions.all())[:CONDITION_ROWS]):
            value = c.value
            shown = (
                ", ".join(str(v) for v in value) if isinstance(value, list) else ("" if value is None else str(value))
            )
            initial |= {f"c{i}_fact": c.fact, f"c{i}_operator": c.operator, f"c{i}_value": shown}
        for i, s in enumerate(list(rule.steps.all())[:STEP_ROWS]):
            initial |= {
                f"s{i}_name": s.name,
                f"s{i}_approver_type": s.approver_type,
                f"s{i}_users": [u.pk for u in s.users.all()],
                f"s{i}_levels": s.levels,
                f"s{i}_role": s.role,
                f"s{i}_mode": s.mode,
            }
        return initial
