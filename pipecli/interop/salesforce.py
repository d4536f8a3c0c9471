"""A Salesforce opportunities report exported as CSV ("Details Only"): dates as the user's locale writes
them (M/D/YYYY in the default English one) and a footer of copyright lines under a blank line."""

from __future__ import annotations

from .fields import Preset

STAGES = {
    "Prospecting": "opportunity",
    "Qualification": "opportunity",
    "Needs Analysis": "c",
    "Value Proposition": "c",
    "Id. Decision Makers": "c",
    "Perception Analysis": "c",
    "Proposal/Price Quote": "b",
    "Negotiation/Review": "b",
    "Closed Won": "closed",
    "Closed Lost": "reserve",
}

OPPORTUNITIES = Preset(
    name="salesforce-opportunities",
    label="Salesforce opportunities",
    system="salesforce",
    columns={
        "Opportunity ID": "record_id",
        "Opportunity Name": "deal",
        "Contact: Full Name": "name",
        "Primary Contact": "name",
        "Account Name": "company",
        "Opportunity Owner": "owner",
        "Stage": "stage",
        "Amount": "value",
        "Created Date": "created",
        "Last Stage Change Date": "stage_changed",
        "Close Date": "close_date",
        "Next Step": "next_action",
    },
    identifies=("Opportunity Name", "Account Name", "Stage"),
    stages=STAGES,
    date_formats=("%m/%d/%Y", "%m/%d/%Y, %I:%M %p", "%m/%d/%Y %I:%M %p", "%Y-%m-%d"),
    deals=True,
    footer=True,
)
