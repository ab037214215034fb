"""Account and contact pages. Thin: parse with a form → access function → service → render."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from salesflow.core.errors import Conflict, Forbidden, ServiceError
from salesflow.core.web import apply_service_error, page_number, paginate, render_list
from salesflow.parties.forms import AccountFilterForm, AccountForm, ContactFilterForm, ContactForm
from salesflow.parties.models import Account, Contact
from salesflow.parties.permissions import (
    accounts_visible_to,
    can_manage_account,
    can_read_personal_data,
    can_write_contact,
    get_account_for_user,
    get_contact_for_user,
    may_hold_personal_data,
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
    resolve_sort,
)
from salesflow.parties.services import (
    AccountChanges,
    ContactChanges,
    account_create,
    account_delete,
    account_update,
    contact_create,
    contact_delete,
    contact_update,
    related_record_counts,
)
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
    page = paginate(account_list(user, **filters.values(), sort=sort), page_number(request), PER_PAGE)
    context = {"filters": filters, "page": page, "sort": sort, "can_create": can_create_records(user)}
    return render_list(
        request, page="parties/account_list.html", fragment="parties/partials/account_table.html", context=context
    )


@require_http_methods(["GET", "POST"])
def account_create_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not can_create_records(user):
        raise PermissionDenied(_("You may not create accounts."))
    form = AccountForm(request.POST or None, user=user, initial={"owner": user.pk})
    if request.method == "POST" and form.is_valid():
        try:
            account = account_create(actor=user, **form.cleaned_data)
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The account “%(name)s” was created.") % {"name": account.name})
            return redirect("accounts:detail", pk=account.pk)
    return render(request, "parties/account_form.html", {"form": form, "account": None})


@require_GET
def account_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    account = get_account_for_user(user, pk)
    detail = account_detail_context(user, account)
    return render(
        request,
        "parties/account_detail.html",
        {
            "account": account,
            "contacts": detail.contacts,
            "more_contacts": detail.more_contacts,
            "events": detail.events,
            "can_write": detail.can_write,
            "can_delete": detail.can_write and can_manage_account(user, account),
        },
    )


@require_http_methods(["GET", "POST"])
def account_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    account: Account = get_account_for_user(user, pk, write=True)
    form = AccountForm(request.POST or None, user=user, initial=AccountForm.initial_for(account), account=account)
    if request.method == "POST" and form.is_valid():
        try:
            account_update(actor=user, account=account, **cast(AccountChanges, form.cleaned_data))
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The account was saved."))
            return redirect("accounts:detail", pk=account.pk)
    return render(request, "parties/account_form.html", {"form": form, "account": account})


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
    page = paginate(contact_list(user, **values, sort=sort), page_number(request), PER_PAGE)
    account = accounts_visible_to(user).filter(pk=values["account"]).first() if values["account"] else None
    context = {
        "filters": filters,
        "page": page,
        "sort": sort,
        "filter_account": account,
        "can_create": can_create_records(user),
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
    if request.method == "POST" and form.is_valid():
        try:
            contact = contact_create(actor=user, **form.cleaned_data)
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The contact “%(name)s” was created.") % {"name": contact.name})
            return redirect("contacts:detail", pk=contact.pk)
    return render(request, "parties/contact_form.html", {"form": form, "contact": None, "account": selected})


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
    if request.method == "POST" and form.is_valid():
        try:
            contact_update(actor=user, contact=contact, **cast(ContactChanges, form.cleaned_data))
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The contact was saved."))
            return redirect("contacts:detail", pk=contact.pk)
    return render(request, "parties/contact_form.html", {"form": form, "contact": contact, "account": contact.account})


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
