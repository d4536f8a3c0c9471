"""The calendar side of the pipeline as iCalendar: first meetings as all-day events, next actions as
to-dos, each with a UID made from pipe's id, so a calendar updates them in place (pure; icalendar does the format)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone

from ..ladder import FIRST_MEETING_ACTION
from ..model import Contact, stage_letter


def uid(c: Contact, what: str) -> str:
    return f"{c.id}-{what}@pipe"


def write(contacts: Sequence[Contact], today: date) -> bytes:
    from icalendar import Calendar, Event, Todo

    stamp = datetime(today.year, today.month, today.day, tzinfo=timezone.utc)  # reproducible with --today
    cal = Calendar()
    cal.add("prodid", "-//pipe//pipe export//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "pipe")
    for c in contacts:
        about = "\n".join(part for part in (f"{stage_letter(c.stage)} · {c.label}", c.phone, c.email) if part)
        fm = c.first_meeting
        if fm is not None and fm.date is not None:
            event = Event()
            event.add("uid", uid(c, "first-meeting"))
            event.add("dtstamp", stamp)
            event.add("dtstart", fm.date)
            event.add("dtend", fm.date + timedelta(days=1))
            event.add("summary", f"First meeting: {c.label}")
            event.add("description", about + ("\nheld" if fm.held else ""))
            event.add("categories", ["pipe"])
            cal.add_component(event)
        nx = c.next
        meeting_itself = (nx is not None and fm is not None and nx.action == FIRST_MEETING_ACTION
                          and nx.due == fm.date)  # pipe meet made the meeting the next action: its event says it
        if nx is not None and not meeting_itself:
            todo = Todo()
            todo.add("uid", uid(c, "next"))
            todo.add("dtstamp", stamp)
            todo.add("summary", f"{nx.action} ({c.label})")
            if nx.due is not None:
                todo.add("due", nx.due)
            todo.add("status", "NEEDS-ACTION")
            todo.add("description", about)
            todo.add("categories", ["pipe"])
            cal.add_component(todo)
    return bytes(cal.to_ical())
