"""Forms for accounts and contacts. They parse input; the services validate business rules.

Fields are built from the model fields (labels, choices, lengths) so the forms and the
models cannot drift apart; linked records are limited to what the user may choose.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from salesflow.core.bulk import BulkForm
from salesflow.parties.choices import BuyingRole, Grade, Industry, Lifecycle
from salesflow.parties.models import Account, Contact
from salesflow.parties.selectors import accounts_writable_by, territory_choices, visible_owners
from salesflow.tags.forms import TagBulkFields, TagFilterField
from salesflow.users.models import Territory, User
from salesflow.users.permissions import assignable_users_for

# A <select> of accounts renders at most this many options (plus the selected one); the
# field still accepts any writable account, so large installations stay fast.
ACCOUNT_SELECT_LIMIT = 300


def _model_field(model: type[models.Model], name: str, **kwargs: Any) -> forms.Field:
    field = model._meta.get_field(name).formfield(**kwargs)  # type: ignore[union-attr]
    assert field is not None
    return field


class AccountForm(forms.Form):
    """Create or edit an account. ``owner`` is limited to ``assignable_users_for(user)``."""

    name = _model_field(Account, "name")
    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        max_length=30,
        required=False,
        help_text=_("18 characters, e.g. 91310000MA1FL8TQ36. Spaces and hyphens are ignored."),
    )
    industry = _model_field(Account, "industry")
    region = forms.TypedChoiceField(label=_("Region"), required=False, coerce=int, empty_value=None)
    size = _model_field(Account, "size")
    lifecycle = _model_field(Account, "lifecycle")
    grade = _model_field(Account, "grade")
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none())
    source = _model_field(Account, "source")
    phone = _model_field(Account, "phone")
    website = _model_field(Account, "website")
    address = _model_field(Account, "address")
    description = _model_field(Account, "description", widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args: Any, user: User, account: Account | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner_field = self.fields["owner"]
        assert isinstance(owner_field, forms.ModelChoiceField)
        owners = assignable_users_for(user)
        if account is not None and account.owner_id is not None:
            # keep the current owner selectable even when the editor could not assign them
            owners = (owners | User.objects.filter(pk=account.owner_id)).order_by("display_name", "username")
        owner_field.queryset = owners
        owner_field.widget.attrs["data-searchable"] = ""
        region_field = self.fields["region"]
        assert isinstance(region_field, forms.TypedChoiceField)
        region_field.choices = [("", "---------"), *territory_choices()]
        region_field.widget.attrs["data-searchable"] = ""

    def clean_region(self) -> Territory | None:
        region_id = self.cleaned_data.get("region")
        if region_id is None:
            return None
        region = Territory.objects.filter(pk=region_id).first()
        if region is None:
            raise forms.ValidationError(_("Select a valid choice."))
        return region

    @staticmethod
    def initial_for(account: Account) -> dict[str, Any]:
        return {
            "name": account.name,
            "credit_code": account.credit_code,
            "industry": account.industry,
            "region": account.region_id,
            "size": account.size,
            "lifecycle": account.lifecycle,
            "grade": account.grade,
            "owner": account.owner_id,
            "source": account.source,
            "phone": account.phone,
            "website": account.website,
            "address": account.address,
            "description": account.description,
        }


def _filter_select(field: forms.Field, name: str, empty: Any, choices: list[tuple[Any, Any]]) -> None:
    assert isinstance(field, forms.ChoiceField)
    field.choices = [("", empty), *choices]
    field.widget.attrs.update({"class": "form-select", "aria-label": field.label, "data-testid": f"filter-{name}"})


FOLLOW_UP_FILTERS = [("overdue", _("Follow-up overdue")), ("at_risk", _("At risk"))]


class NeglectReassignForm(forms.Form):
    """A manager gives a neglected account to another owner, with a reason (issue 7)."""

    owner = forms.ModelChoiceField(label=_("New owner"), queryset=User.objects.none())
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, user: User, exclude_owner: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["owner"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = assignable_users_for(user).exclude(pk=exclude_owner or 0).order_by("display_name", "username")


class AccountFilterForm(forms.Form):
    """The filter bar of the account list (all optional; invalid values are ignored)."""

    q = forms.CharField(label=_("Search"), required=False)
    lifecycle = forms.ChoiceField(label=_("Lifecycle"), required=False)
    grade = forms.ChoiceField(label=_("Grade"), required=False)
    industry = forms.ChoiceField(label=_("Industry"), required=False)
    owner = forms.TypedChoiceField(label=_("Owner"), required=False, coerce=int, empty_value=None)
    tag = TagFilterField()  # salesflow.tags: read by the view (parse_tag_id), not by values()
    # issue 7: "follow-up overdue" (next_follow_up_due before today) / "at risk"
    follow_up = forms.ChoiceField(label=_("Follow-up"), required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._set_choices("follow_up", _("Any follow-up state"), FOLLOW_UP_FILTERS)
        self._set_choices("lifecycle", _("All lifecycles"), Lifecycle.choices)
        self._set_choices("grade", _("All grades"), Grade.choices)
        self._set_choices("industry", _("All industries"), Industry.choices)
        self._set_choices("owner", _("All owners"), [(u.pk, str(u)) for u in visible_owners(user)])

    def _set_choices(self, name: str, empty: Any, choices: list[tuple[Any, Any]]) -> None:
        _filter_select(self.fields[name], name, empty, choices)

    def values(self) -> dict[str, Any]:
        """Cleaned filters; a field with an invalid value counts as unset."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "q": data.get("q") or "",
            "lifecycle": data.get("lifecycle") or "",
            "grade": data.get("grade") or "",
            "industry": data.get("industry") or "",
            "owner": data.get("owner"),
            "follow_up": data.get("follow_up") or "",
        }


class ContactForm(forms.Form):
    """Create or edit a contact with the sales archive. ``account`` is limited to accounts
    the user may write; the select shows the first few hundred, the field accepts any."""

    account = forms.ModelChoiceField(label=_("Account"), queryset=Account.objects.none())
    name = _model_field(Contact, "name", label=_("Full name"))
    title = _model_field(Contact, "title")
    department = _model_field(Contact, "department")
    buying_role = _model_field(Contact, "buying_role")
    mobile = _model_field(Contact, "mobile", help_text=_("e.g. 138 1234 5678; +86 and separators are removed."))
    phone = _model_field(Contact, "phone")
    email = _model_field(Contact, "email")
    wechat = _model_field(Contact, "wechat")
    birthday = _model_field(Contact, "birthday", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    hobbies = _model_field(Contact, "hobbies")
    education = _model_field(Contact, "education")
    achievements = _model_field(Contact, "achievements", widget=forms.Textarea(attrs={"rows": 3}))
    places = _model_field(Contact, "places")
    family = _model_field(Contact, "family")
    cultural_background = _model_field(Contact, "cultural_background")
    notes = _model_field(Contact, "notes", widget=forms.Textarea(attrs={"rows": 3}))

    ARCHIVE = ("birthday", "hobbies", "education", "achievements", "places", "family", "cultural_background")

    def __init__(
        self,
        *args: Any,
        user: User,
        selected_account: Account | None = None,
        archive: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # field-level protection: who may not read the sales archive does not get its fields
        self.show_archive = archive
        if not archive:
            for name in self.ARCHIVE:
                del self.fields[name]
        field = self.fields["account"]
        assert isinstance(field, forms.ModelChoiceField)
        writable = accounts_writable_by(user)
        field.queryset = writable
        shown: list[tuple[Any, str]] = [(a.pk, a.name) for a in writable.only("pk", "name")[:ACCOUNT_SELECT_LIMIT]]
        if selected_account is not None and all(pk != selected_account.pk for pk, _label in shown):
            shown.insert(0, (selected_account.pk, selected_account.name))
        field.widget.choices = [("", "---------"), *shown]
        field.widget.attrs["data-searchable"] = ""

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in self.ARCHIVE]

    def archive_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.ARCHIVE if name in self.fields]

    @staticmethod
    def initial_for(contact: Contact) -> dict[str, Any]:
        names = [
            "name",
            "title",
            "department",
            "buying_role",
            "mobile",
            "phone",
            "email",
            "wechat",
            "birthday",
            "hobbies",
            "education",
            "achievements",
            "places",
            "family",
            "cultural_background",
            "notes",
        ]
        return {"account": contact.account_id, **{name: getattr(contact, name) for name in names}}


class ContactFilterForm(forms.Form):
    """The filter bar of the contact list."""

    q = forms.CharField(label=_("Search"), required=False)
    buying_role = forms.ChoiceField(label=_("Buying role"), required=False)
    account = forms.IntegerField(required=False, widget=forms.HiddenInput)
    tag = TagFilterField()  # salesflow.tags: read by the view (parse_tag_id), not by values()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _filter_select(self.fields["buying_role"], "buying_role", _("All buying roles"), BuyingRole.choices)

    def values(self) -> dict[str, Any]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {"q": data.get("q") or "", "buying_role": data.get("buying_role") or "", "account": data.get("account")}


# --- bulk actions (core.bulk) ----------------------------------------------------------------------


class AccountBulkForm(BulkForm, TagBulkFields):
    """The bulk bar of the account list: reassign (optionally with the open deals), tag, delete."""

    owner = forms.ModelChoiceField(label=_("New owner"), queryset=User.objects.none(), required=False)
    follow = forms.BooleanField(label=_("Contacts and open deals follow the account"), required=False, initial=True)

    FIELD_ACTIONS = {"owner": "assign", "follow": "assign", "tag": "tag_add tag_remove"}
    ACTIONS = [
        ("assign", _("Reassign owner")),
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


class ContactBulkForm(BulkForm, TagBulkFields):
    """The bulk bar of the contact list: tag, delete (contacts follow their account's owner)."""

    FIELD_ACTIONS = {"tag": "tag_add tag_remove"}
    ACTIONS = [("tag_add", _("Add tag")), ("tag_remove", _("Remove tag")), ("delete", _("Delete"))]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, actions=self.ACTIONS, **kwargs)
