"""Background work of quotes: emailing a quote, and the daily expiry job."""

from __future__ import annotations

from django.core.mail import EmailMessage
from django.utils import translation
from django_tasks import task

from salesflow.quotes.models import QuoteVersion


@task()
def send_quote_email(version_id: int, to: list[str], language: str, message: str, sender_id: int | None) -> str:
    """Email the version's PDF (attached) with the public accept/decline link to ``to``
    through Django's email backend. Takes ids and reloads; a version gone or no longer sent
    is skipped."""
    from salesflow.quotes.links import public_url
    from salesflow.quotes.pdf import pdf_filename, render_quote_pdf
    from salesflow.quotes.selectors import company_profile

    version = QuoteVersion.objects.select_related("quote__owner", "quote__account").filter(pk=version_id).first()
    if version is None or version.status != "sent":
        return "skipped"
    quote = version.quote
    pdf = render_quote_pdf(quote, version, language)
    profile = company_profile()
    with translation.override(language):
        company = (
            (profile.name_zh or profile.name_en) if language == "zh-hans" else (profile.name_en or profile.name_zh)
        )
        subject = translation.gettext("Quotation %(number)s: %(title)s") % {
            "number": quote.number,
            "title": quote.title,
        }
        lines = [message, ""] if message else []
        lines += [
            translation.gettext("Please find our quotation %(number)s (version %(version)d) attached.")
            % {"number": quote.number, "version": version.version},
            translation.gettext("Total: %(total)s %(currency)s, valid until %(date)s.")
            % {"total": version.total, "currency": quote.currency, "date": version.valid_until},
            "",
            translation.gettext("Accept or decline online:"),
            public_url(version),
            "",
            f"{quote.owner}{' · ' + company if company else ''}",
        ]
    reply_to = [quote.owner.email] if quote.owner.email else None
    email = EmailMessage(subject=subject[:200], body="\n".join(lines), to=to, reply_to=reply_to)
    email.attach(pdf_filename(quote, version, language), pdf, "application/pdf")
    email.send(fail_silently=False)
    return "sent"


@task()
def expire_quotes(slot: str = "") -> int:
    """Periodic job: expire approved/sent quotes past their validity (idempotent)."""
    from salesflow.quotes.services import quotes_expire_due
    from salesflow.users.services import system_actor

    return quotes_expire_due(actor=system_actor())
