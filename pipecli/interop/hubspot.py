"""HubSpot's exports of contacts and of deals (a view's Export, CSV): "Record ID" and the properties' labels."""

from __future__ import annotations

from .fields import Preset

# A contact's lifecycle stage says how marketing sees them, not what they committed to: all of it is
# opportunity in the method's terms until they buy.
LIFECYCLE = {
    "Subscriber": "opportunity", "subscriber": "opportunity",
    "Lead": "opportunity",
    "Marketing Qualified Lead": "opportunity", "marketingqualifiedlead": "opportunity",
    "Sales Qualified Lead": "opportunity", "salesqualifiedlead": "opportunity",
    "Opportunity": "opportunity",
    "Customer": "closed",
    "Evangelist": "closed",
    "Other": "opportunity",
}

# The default sales pipeline, by label and by internal name (exports use either).
DEAL_STAGES = {
    "Appointment Scheduled": "first-appointment", "appointmentscheduled": "first-appointment",
    "Qualified To Buy": "c", "qualifiedtobuy": "c",
    "Presentation Scheduled": "c", "presentationscheduled": "c",
    "Decision Maker Bought-In": "b", "decisionmakerboughtin": "b",
    "Contract Sent": "a", "contractsent": "a",
    "Closed Won": "closed", "closedwon": "closed",
    "Closed Lost": "reserve", "closedlost": "reserve",
}

DATES = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")

CONTACTS = Preset(
    name="hubspot-contacts",
    label="HubSpot contacts",
    system="hubspot-contact",
    columns={
        "Record ID": "record_id",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email",
        "Phone Number": "phone",
        "Mobile Phone Number": "phone",
        "Company Name": "company",
        "Associated Company": "company",
        "Job Title": "title",
        "Contact owner": "owner",
        "Lifecycle Stage": "stage",
        "Create Date": "created",
        "Became a Customer Date": "won_date",
    },
    identifies=("Record ID", "First Name", "Last Name", "Email"),
    stages=LIFECYCLE,
    date_formats=DATES,
)

DEALS = Preset(
    name="hubspot-deals",
    label="HubSpot deals",
    system="hubspot-deal",
    columns={
        "Record ID": "record_id",
        "Deal Name": "deal",
        "Associated Contact": "name",
        "Associated Company": "company",
        "Deal owner": "owner",
        "Deal Stage": "stage",
        "Amount": "value",
        "Create Date": "created",
        "Close Date": "close_date",
        "Closed Lost Reason": "lost_reason",
        "Next Activity Date": "next_due",
    },
    identifies=("Record ID", "Deal Name", "Deal Stage"),
    stages=DEAL_STAGES,
    date_formats=DATES,
    deals=True,
)
