"""Pipedrive's deals export (Deals > Export as CSV): "Deal - …", "Person - …" and "Organization - …" columns."""

from __future__ import annotations

from .fields import Preset

# Pipedrive's default pipeline, stage by stage, to the class the method would give a deal there. Its
# stages are steps of the seller's process, not evidence: an import never meets a gate.
STAGES = {
    "Lead In": "opportunity",
    "Qualified": "opportunity",
    "Contact Made": "opportunity",
    "Demo Scheduled": "first-appointment",
    "Needs Defined": "c",
    "Proposal Made": "b",
    "Negotiations Started": "b",
}

DEALS = Preset(
    name="pipedrive-deals",
    label="Pipedrive deals",
    system="pipedrive",
    columns={
        "Deal - ID": "record_id",
        "Deal - Title": "deal",
        "Deal - Contact person": "name",
        "Person - Name": "name",
        "Deal - Organization": "company",
        "Organization - Name": "company",
        "Person - Job title": "title",
        "Person - Email": "email",
        "Person - Email - Work": "email",
        "Person - Phone": "phone",
        "Person - Phone - Work": "phone",
        "Person - Phone - Mobile": "phone",
        "Deal - Owner": "owner",
        "Deal - Value": "value",
        "Deal - Currency": "currency",
        "Deal - Stage": "stage",
        "Deal - Status": "status",
        "Deal - Deal created": "created",
        "Deal - Last stage change": "stage_changed",
        "Deal - Won time": "won_date",
        "Deal - Lost time": "lost_date",
        "Deal - Deal closed on": "close_date",
        "Deal - Lost reason": "lost_reason",
        "Deal - Next activity date": "next_due",
    },
    identifies=("Deal - Title", "Deal - Stage", "Deal - Status"),
    stages=STAGES,
    date_formats=("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"),
    deals=True,
)
