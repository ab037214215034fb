from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Industry(models.TextChoices):
    MANUFACTURING = "manufacturing", _("Manufacturing")
    IT = "it", _("IT and software")
    FINANCE = "finance", _("Finance and insurance")
    RETAIL = "retail", _("Retail and consumer goods")
    HEALTHCARE = "healthcare", _("Healthcare")
    EDUCATION = "education", _("Education")
    ENERGY = "energy", _("Energy and utilities")
    CONSTRUCTION = "construction", _("Construction and real estate")
    LOGISTICS = "logistics", _("Logistics and transport")
    AUTOMOTIVE = "automotive", _("Automotive")
    GOVERNMENT = "government", _("Government and public sector")
    OTHER = "other", _("Other")


class CompanySize(models.TextChoices):
    MICRO = "micro", _("1–19 employees")
    SMALL = "small", _("20–99 employees")
    MEDIUM = "medium", _("100–499 employees")
    LARGE = "large", _("500–1,999 employees")
    ENTERPRISE = "enterprise", _("2,000+ employees")


class Lifecycle(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    CUSTOMER = "customer", _("Customer")
    CHURNED = "churned", _("Churned")
    PARTNER = "partner", _("Partner")


class Grade(models.TextChoices):
    A = "A", _("A – key account")
    B = "B", _("B – important")
    C = "C", _("C – regular")
    D = "D", _("D – low value")


class SourceChannel(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")
    REFERRAL = "referral", _("Referral")
    PARTNER = "partner", _("Partner")


class SubChannel(models.TextChoices):
    WEBSITE = "website", _("Website form")
    CONTENT = "content", _("Content marketing")
    SEO_SEM = "seo_sem", _("Search (SEO/SEM)")
    SOCIAL = "social", _("Social media")
    NEWSLETTER = "newsletter", _("Newsletter")
    WHITEPAPER = "whitepaper", _("White paper")
    EVENT = "event", _("Event / seminar")
    PHONE = "phone", _("Cold call")
    EMAIL = "email", _("Email outreach")
    DIRECT_MAIL = "direct_mail", _("Direct mail")
    EXHIBITION = "exhibition", _("Exhibition")
    ADS = "ads", _("Advertising")
    CUSTOMER_REFERRAL = "customer_referral", _("Customer referral")
    PARTNER_REFERRAL = "partner_referral", _("Partner referral")
    OTHER = "other", _("Other")


# Which sub-channels belong to which source channel (a lead's sub-channel must be one of
# its channel's). Inbound leads come to us (集客); outbound ones we go out for (拓客).
SUB_CHANNELS_BY_SOURCE: dict[str, tuple[str, ...]] = {
    SourceChannel.INBOUND: (
        SubChannel.WEBSITE,
        SubChannel.CONTENT,
        SubChannel.SEO_SEM,
        SubChannel.SOCIAL,
        SubChannel.NEWSLETTER,
        SubChannel.WHITEPAPER,
        SubChannel.EVENT,
        SubChannel.ADS,
        SubChannel.OTHER,
    ),
    SourceChannel.OUTBOUND: (
        SubChannel.PHONE,
        SubChannel.EMAIL,
        SubChannel.DIRECT_MAIL,
        SubChannel.EXHIBITION,
        SubChannel.EVENT,
        SubChannel.SOCIAL,
        SubChannel.ADS,
        SubChannel.OTHER,
    ),
    SourceChannel.REFERRAL: (SubChannel.CUSTOMER_REFERRAL, SubChannel.PARTNER_REFERRAL, SubChannel.OTHER),
    SourceChannel.PARTNER: (SubChannel.PARTNER_REFERRAL, SubChannel.OTHER),
}


class BuyingRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker (KP)")
    INFLUENCER = "influencer", _("Influencer")
    USER = "user", pgettext_lazy("buying role", "User")
    PURCHASER = "purchaser", _("Purchaser")
    OTHER = "other", _("Other")
