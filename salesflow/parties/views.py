"""Account and contact pages. Thin: parse with a form → access function → service → render."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesflow.core.bulk import BULK_MAX, run_bulk_form
from salesflow.core.duplicates import duplicate_options, show_service_error
from salesflow.core.errors import Conflict, Forbidden, ServiceError
from salesflow.core.web import page_number, paginate, render_list
from salesflow.parties.forms import (
    AccountBulkForm,
    AccountFilterForm,
    AccountForm,
    ContactBulkForm,
    ContactFilterForm,
    ContactForm,
    NeglectReassignForm,
)
from salesflow.parties.models import Account, Contact
from salesflow.parties.permissions import (
    accounts_visible_to,
    can_manage_account,
    can_read_personal_data,
    can_write_contact,
    contacts_visible_to,
    get_account_for_user,
    get_contact_for_user,
    may_hold_personal_data,
    may_reassign_for_neglect,
)
from salesflow.parties.selectors import (
    ACCOUNT_DEFAULT_SORT,
    ACCOUNT_SORTS,
    CONTACT_DEFAULT_SORT,
    CONTACT_SORTS,
    account_detail_context,
    account_list,
    contact_detail_events,
    contact_list,
    follow_up_policy_for,
    resolve_sort,
)
from salesflow.parties.services import (
    AccountChanges,
    ContactChanges,
    account_create,
    account_delete,
    account_reassign,
    account_reassign_for_neglect,
    account_update,
    contact_create,
    contact_delete,
    contact_update,
    related_record_counts,
)
from salesflow.tags.selectors import parse_tag_id, tag_step
from salesflow.tags.services import tag_bulk_action
from salesflow.users.choices import Role
from salesflow.users.models import User
from salesflow.users.permissions import writable_owner_ids

PER_PAGE = 25


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def can_create_records(user: User) -> bool:
    """Anyone who may write some owner's records may create accounts (support may not)."""
    ids = writable_owner_ids(user)
    return ids is None or bool(ids)


# --- accounts --------------------------------------------------------------------------------------


@require_GET
def account_list_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    filters = AccountFilterForm(request.GET, user=user)
    sort, _order = resolve_sort(request.GET.get("sort"), ACCOUNT_SORTS, ACCOUNT_DEFAULT_SORT)
    rows = tag_step(account_list(user, **filters.values(), sort=sort), parse_tag_id(request.GET.get("tag")))
    page = paginate(rows, page_number(request), PER_PAGE)
    context = {
        "filters": filters,
        "page": page,
        "sort": sort,
        "can_create": can_create_records(user),
        "today": timezone.localdate(),
    }
    context.update(_bulk_context(AccountBulkForm(user=user), "accounts:bulk", "#account-results"))
    return render_list(
        request, page="parties/account_list.html", fragment="parties/partials/account_table.html", context=context
    )


@require_http_methods(["GET", "POST"])
def account_create_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not can_create_records(user):
        raise PermissionDenied(_("You may not create accounts."))
    form = AccountForm(request.POST or None, user=user, initial={"owner": user.pk})
    panel: dict[str, Any] = {}  # issue 8: the possible-duplicates panel
    if request.method == "POST" and form.is_valid():
        try:
            account = account_create(actor=user, intake_options=duplicate_options(request), **form.cleaned_data)
        except ServiceError as exc:
            panel = show_service_error(request, form, exc)
        else:
            messages.success(request, _("The account “%(name)s” was created.") % {"name": account.name})
            return redirect("accounts:detail", pk=account.pk)
    return render(request, "parties/account_form.html", {"form": form, "account": None, **panel})


@require_GET
def account_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    account = get_account_for_user(user, pk)
    detail = account_detail_context(user, account)
    # one query for both the neglect-reassign form (managers) and delete (writers)
    manages = (detail.can_write or user.is_admin or user.role == Role.MANAGER) and can_manage_account(user, account)
    return render(
        request,
        "parties/account_detail.html",
        {
            "account": account,
            "today": timezone.localdate(),
            "policy": follow_up_policy_for(account.grade),
            "grade": account.grade,
            "reassign_form": (
                NeglectReassignForm(user=user, exclude_owner=account.owner_id)
                if may_reassign_for_neglect(user, account, manages=manages)
                and (account.at_risk_since is not None or _overdue(account))
                else None
            ),
            "contacts": detail.contacts,
            "more_contacts": detail.more_contacts,
            "events": detail.events,
            "can_write": detail.can_write,
            "can_delete": detail.can_write and manages,
        },
    )


@require_http_methods(["GET", "POST"])
def account_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    account: Account = get_account_for_user(user, pk, write=True)
    form = AccountForm(request.POST or None, user=user, initial=AccountForm.initial_for(account), account=account)
    panel: dict[str, Any] = {}  # issue 8: the possible-duplicates panel
    if request.method == "POST" and form.is_valid():
        try:
            account_update(
                actor=user,
                intake_options=duplicate_options(request),
                account=account,
                **cast(AccountChanges, form.cleaned_data),
            )
        except ServiceError as exc:
            panel = show_service_error(request, form, exc)
        else:
            messages.success(request, _("The account was saved."))
            return redirect("accounts:detail", pk=account.pk)
    return render(request, "parties/account_form.html", {"form": form, "account": account, **panel})


@require_http_methods(["GET", "POST"])
def account_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    account: Account = get_account_for_user(user, pk, write=True)
    if not can_manage_account(user, account):  # a read-write share never deletes
        raise Forbidden(_("You may not delete this account."))
    if request.method == "POST":
        try:
            account_delete(actor=user, account=account)
        except Conflict as exc:
            messages.error(request, str(exc.message))
            return redirect("accounts:detail", pk=account.pk)
        messages.success(request, _("The account “%(name)s” was deleted.") % {"name": account.name})
        return redirect("accounts:list")
    return render(
        request, "parties/account_delete.html", {"account": account, "dependents": related_record_counts(account)}
    )


# --- contacts --------------------------------------------------------------------------------------


@require_GET
def contact_list_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    filters = ContactFilterForm(request.GET)
    values = filters.values()
    sort, _order = resolve_sort(request.GET.get("sort"), CONTACT_SORTS, CONTACT_DEFAULT_SORT)
    rows = tag_step(contact_list(user, **values, sort=sort), parse_tag_id(request.GET.get("tag")))
    page = paginate(rows, page_number(request), PER_PAGE)
    account = accounts_visible_to(user).filter(pk=values["account"]).first() if values["account"] else None
    context = {
        "filters": filters,
        "page": page,
        "sort": sort,
        "filter_account": account,
        "can_create": can_create_records(user),
        **_bulk_context(ContactBulkForm(), "contacts:bulk", "#contact-results"),
    }
    return render_list(
        request, page="parties/contact_list.html", fragment="parties/partials/contact_table.html", context=context
    )


@require_http_methods(["GET", "POST"])
def contact_create_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not can_create_records(user):
        raise PermissionDenied(_("You may not create contacts."))
    selected: Account | None = None
    account_param = request.GET.get("account")
    if account_param:
        selected = get_account_for_user(user, account_param, write=True)
    initial = {"account": selected.pk} if selected else {}
    archive = can_read_personal_data(user, Contact(account=selected)) if selected else may_hold_personal_data(user)
    form = ContactForm(request.POST or None, user=user, selected_account=selected, initial=initial, archive=archive)
    panel: dict[str, Any] = {}  # issue 8: the possible-duplicates panel
    if request.method == "POST" and form.is_valid():
        try:
            contact = contact_create(actor=user, intake_options=duplicate_options(request), **form.cleaned_data)
        except ServiceError as exc:
            panel = show_service_error(request, form, exc)
        else:
            messages.success(request, _("The contact “%(name)s” was created.") % {"name": contact.name})
            return redirect("contacts:detail", pk=contact.pk)
    return render(request, "parties/contact_form.html", {"form": form, "contact": None, "account": selected, **panel})


@require_GET
def contact_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    contact = get_contact_for_user(user, pk)
    return render(
        request,
        "parties/contact_detail.html",
        {
            "contact": contact,
            "account": contact.account,
            "events": contact_detail_events(contact, user),
            "can_write": can_write_contact(user, contact),
            "can_delete": can_manage_account(user, contact.account),
            "can_read_archive": can_read_personal_data(user, contact),
        },
    )


@require_http_methods(["GET", "POST"])
def contact_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    contact: Contact = get_contact_for_user(user, pk, write=True)
    form = ContactForm(
        request.POST or None,
        user=user,
        selected_account=contact.account,
        initial=ContactForm.initial_for(contact),
        archive=can_read_personal_data(user, contact),
    )
    panel: dict[str, Any] = {}  # issue 8: the possible-duplicates panel
    if request.method == "POST" and form.is_valid():
        try:
            contact_update(
                actor=user,
                intake_options=duplicate_options(request),
                contact=contact,
                **cast(ContactChanges, form.cleaned_data),
            )
        except ServiceError as exc:
            panel = show_service_error(request, form, exc)
        else:
            messages.success(request, _("The contact was saved."))
            return redirect("contacts:detail", pk=contact.pk)
    return render(
        request, "parties/contact_form.html", {"form": form, "contact": contact, "account": contact.account, **panel}
    )


@require_http_methods(["GET", "POST"])
def contact_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    contact: Contact = get_contact_for_user(user, pk, write=True)
    if not can_manage_account(user, contact.account):
        raise Forbidden(_("You may not delete this contact."))
    if request.method == "POST":
        try:
            contact_delete(actor=user, contact=contact)
        except Conflict as exc:
            messages.error(request, str(exc.message))
            return redirect("contacts:detail", pk=contact.pk)
        messages.success(request, _("The contact “%(name)s” was deleted.") % {"name": contact.name})
        return redirect("accounts:detail", pk=contact.account_id)
    return render(
        request, "parties/contact_delete.html", {"contact": contact, "dependents": related_record_counts(contact)}
    )


# --- bulk actions (core.bulk) ----------------------------------------------------------------------


def _bulk_context(form: AccountBulkForm | ContactBulkForm, url_name: str, refresh: str) -> dict[str, Any]:
    return {"bulk_form": form, "bulk_url": reverse(url_name), "bulk_refresh": refresh, "bulk_max": f"{BULK_MAX:,}"}


def _tag_actions(user: User, form: Any) -> Callable[[Any], object] | None:
    return tag_bulk_action(actor=user, action=form.cleaned_data["action"], tag_id=form.cleaned_data.get("tag"))


def accounts_matching(user: User, params: QueryDict) -> QuerySet[Account]:
    """The rows of the account list for these query parameters (its own filter form)."""
    filters = AccountFilterForm(params, user=user)
    return tag_step(account_list(user, **filters.values()), parse_tag_id(params.get("tag")))


def contacts_matching(user: User, params: QueryDict) -> QuerySet[Contact]:
    """The rows of the contact list for these query parameters (its own filter form)."""
    return tag_step(contact_list(user, **ContactFilterForm(params).values()), parse_tag_id(params.get("tag")))


def _account_action(user: User, form: AccountBulkForm) -> Callable[[Account], object]:
    tagging = _tag_actions(user, form)
    if tagging is not None:
        return tagging
    if form.cleaned_data["action"] == "assign":
        owner = form.require("owner")
        follow = bool(form.cleaned_data.get("follow"))
        return lambda account: account_reassign(actor=user, account=account, owner=owner, follow=follow)
    return lambda account: account_delete(actor=user, account=account)


def _contact_action(user: User, form: ContactBulkForm) -> Callable[[Contact], object]:
    tagging = _tag_actions(user, form)
    if tagging is not None:
        return tagging
    return lambda contact: contact_delete(actor=user, contact=contact)


@require_POST
def account_bulk_view(request: HttpRequest) -> HttpResponse:
    """Apply one action to the ticked accounts or to every account matching the filters."""
    user = _user(request)
    return run_bulk_form(
        request,
        AccountBulkForm(request.POST, user=user),
        visible=accounts_visible_to(user),
        matching=lambda params: accounts_matching(user, params),
        action=lambda form: _account_action(user, form),
        fallback=reverse("accounts:list"),
    )


@require_POST
def contact_bulk_view(request: HttpRequest) -> HttpResponse:
    """Apply one action to the ticked contacts or to every contact matching the filters."""
    user = _user(request)
    return run_bulk_form(
        request,
        ContactBulkForm(request.POST),
        visible=contacts_visible_to(user),
        matching=lambda params: contacts_matching(user, params),
        action=lambda form: _contact_action(user, form),
        fallback=reverse("contacts:list"),
    )


# --- follow-up discipline (issue 7) ------------------------------------------------------------


def _overdue(account: Account) -> bool:
    return account.next_follow_up_due is not None and account.next_follow_up_due < timezone.localdate()


@require_POST
def account_reassign_neglected_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A manager gives a neglected account to another owner, with a reason."""
    user = _user(request)
    account = get_account_for_user(user, pk)
    form = NeglectReassignForm(request.POST, user=user, exclude_owner=account.owner_id)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("accounts:detail", pk=account.pk)
    try:
        account_reassign_for_neglect(
            actor=user, account=account, owner=form.cleaned_data["owner"], reason=form.cleaned_data["reason"]
        )
    except ServiceError as exc:
        messages.error(request, " ".join([str(exc.message), *(m for ms in exc.field_errors.values() for m in ms)]))
    else:
        messages.success(request, _("The account was given to %(owner)s.") % {"owner": form.cleaned_data["owner"]})
    return redirect("accounts:detail", pk=account.pk)
