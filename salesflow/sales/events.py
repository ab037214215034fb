"""Event types of the sales app (labels: ``SalesConfig.ready``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from salesflow.core.events import EventType, declare

_CLOSE = {
    "from": "str",
    "to": "str",
    "duration_seconds": "int|null",
    "amount": "decimal",
    "currency": "str",
    "lost_reason": "str|null",
    "lost_to": "int|null",
    "resume_date": "date|null",
    "note": "str",
    "closed_on": "date",
    "previous_amount": "decimal",
}
_CLOSE_OPTIONAL = frozenset(
    {"to", "duration_seconds", "lost_reason", "lost_to", "resume_date", "note", "closed_on", "previous_amount"}
)

declare(
    EventType(
        "sales.opportunity.created",
        {"amount": "decimal", "currency": "str", "stage": "str", "owner": "int"},
        description="An opportunity was created in a stage, owned by owner.",
    ),
    EventType(
        "sales.opportunity.updated",
        {"changes": "changes"},
        description="Opportunity fields changed; an owner change is changes.owner = [old id, new id].",
    ),
    EventType(
        "sales.opportunity.stage_changed",
        {"from": "str", "to": "str", "duration_seconds": "int|null", "regression": "bool"},
        frozenset({"regression"}),
        description="The opportunity moved from one open stage to another (stage codes); regression: moved back.",
    ),
    *(
        EventType(f"sales.opportunity.{outcome}", _CLOSE, _CLOSE_OPTIONAL, description=text)
        for outcome, text in (
            ("won", "The opportunity was won."),
            ("lost", "The opportunity was lost (reason, competitor)."),
            ("paused", "The opportunity was paused until resume_date."),
            ("upgraded", "The opportunity was marked as upgraded."),
        )
    ),
    EventType(
        "sales.opportunity.reopened",
        {"from_outcome": "str", "from": "str", "to": "str", "duration_seconds": "int|null"},
        frozenset({"duration_seconds"}),
        description="A closed or paused opportunity was reopened into an open stage.",
    ),
    EventType(
        "sales.opportunity.deleted",
        {"name": "str", "amount": "decimal", "currency": "str", "outcome": "str"},
        description="An opportunity was deleted; the event keeps its name and amount.",
    ),
    EventType(
        "sales.opportunity.pipeline_changed",
        {
            "from_pipeline": "str",
            "to_pipeline": "str",
            "from_stage": "str",
            "to_stage": "str",
            "duration_seconds": "int|null",
        },
        description="The opportunity was moved to another pipeline with an explicit stage mapping.",
        label=_("moved the opportunity to another pipeline"),
    ),
    # Configuration (administrators, sales.config_services); the target is the pipeline or stage.
    EventType(
        "sales.pipeline.created",
        {"code": "str", "is_default": "bool", "is_active": "bool"},
        description="An administrator created a pipeline.",
    ),
    EventType(
        "sales.pipeline.updated",
        {"code": "str", "changes": "changes"},
        description="An administrator changed a pipeline's settings.",
    ),
    EventType("sales.pipeline.deleted", {"code": "str"}, description="An administrator deleted an unused pipeline."),
    EventType(
        "sales.stage.created",
        {"pipeline": "str", "code": "str", "kind": "str", "position": "int"},
        description="An administrator added a stage to a pipeline.",
    ),
    EventType(
        "sales.stage.updated",
        {"pipeline": "str", "code": "str", "changes": "changes"},
        description="An administrator changed a stage (probability, kind, hidden, …).",
    ),
    EventType(
        "sales.stage.deleted",
        {"pipeline": "str", "code": "str", "kind": "str", "position": "int"},
        description="An administrator deleted an unused stage.",
    ),
    EventType(
        "sales.pipeline.copied",
        {"code": "str", "source": "str", "stages": "int"},
        description="An administrator copied a pipeline with its stages (source: the copied pipeline's code).",
    ),
    EventType(
        "sales.pipeline.teams_changed",
        {"code": "str", "teams": "list", "default_for": "list", "changes": "changes"},
        description="An administrator changed which teams use a pipeline and for which it is the default (team ids).",
    ),
    EventType(
        "sales.stage.reordered",
        {"pipeline": "str", "order": "list", "before": "list"},
        description="An administrator reordered a pipeline's stages (the target is the pipeline).",
    ),
    # stage gates (salesflow.sales.gates)
    EventType(
        "sales.opportunity.gate_overridden",
        {"stage": "str", "unmet": "list", "reason": "str"},
        description="A manager moved the deal into stage although entry criteria were unmet (unmet: "
        "[{id, code, label, explanation}]), giving reason.",
    ),
    EventType(
        "sales.opportunity.checklist_ticked",
        {"criterion": "int", "stage": "str", "label": "str"},
        description="A checklist entry criterion was ticked on the deal.",
    ),
    EventType(
        "sales.opportunity.checklist_unticked",
        {"criterion": "int", "stage": "str", "label": "str"},
        description="A checklist entry criterion was unticked on the deal.",
    ),
    EventType(
        "sales.stage_criterion.created",
        {"criterion": "int", "stage": "str", "kind": "str", "params": "dict"},
        description="An administrator added an entry criterion to a stage (the target is the stage).",
    ),
    EventType(
        "sales.stage_criterion.updated",
        {"criterion": "int", "stage": "str", "changes": "changes"},
        description="An administrator changed an entry criterion (the target is the stage).",
    ),
    EventType(
        "sales.stage_criterion.deleted",
        {"criterion": "int", "stage": "str", "kind": "str"},
        description="An administrator removed an entry criterion (the target is the stage).",
    ),
)

# Stall detection (the daily job sales.escalate_stalled_deals); actor: the system. One event
# per deal, escalation step and stall episode (StallNotice). ``recipient`` is the user the
# step notifies (null when the step finds nobody, e.g. no manager above the owner).
_STALL = {
    "step": "int",
    "notify": "str",
    "recipient": "int|null",
    "stage": "str",
    "days_in_stage": "int",
    "days_stalled": "int",
    "threshold_days": "int",
    "basis": "str",
    "sample_size": "int|null",
    # true: the recipient got this deal in one digest with others (sales.stall.digest), not on its own
    "digest": "bool",
}
declare(
    EventType(
        "sales.opportunity.stalled",
        _STALL,
        optional=frozenset({"digest"}),
        description="The deal passed its stall threshold (stage or team's 80th percentile); the owner is told.",
        label=_("the opportunity stalled"),
    ),
    EventType(
        "sales.opportunity.stall_escalated",
        _STALL,
        optional=frozenset({"digest"}),
        description="The deal stayed stalled for a step of the escalation ladder; a manager is told.",
        label=_("the stalled opportunity was escalated"),
    ),
)
# One run of the stall job had more than SALESFLOW_ESCALATION_DIGEST_OVER deals for one
# recipient and kind (owner step or manager steps): one digest instead of a notification each.
# Target: the recipient. ``opportunities``: the first 50 deal ids; ``count``: all of them.
declare(
    EventType(
        "sales.stall.digest",
        {"recipient": "int", "owner_step": "bool", "count": "int", "opportunities": "list"},
        description="The stall job's notifications to one person in one run, sent as one digest.",
        label=_("stalled opportunities were sent as one digest"),
    ),
)
# the stall escalation ladder, edited in Settings → Pipelines → Stall escalation
declare(
    EventType(
        "sales.stall_step.saved",
        {"after_days_stalled": "int", "notify": "str", "is_active": "bool", "created": "bool"},
        description="An administrator added or changed a step of the stall escalation ladder.",
    ),
    EventType(
        "sales.stall_step.deleted",
        {"after_days_stalled": "int", "notify": "str"},
        description="An administrator deleted a step of the stall escalation ladder.",
    ),
)
