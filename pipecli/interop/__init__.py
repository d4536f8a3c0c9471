"""Import and export: one module per file format or CRM preset, each a pure mapping between its rows or
cards and contact data; the store does every write (see commands/interop.py).

- fields.py: the contact fields a column can map to, presets as data, a row to a draft contact
- csvfile.py: CSV bytes to rows (encodings, delimiters, ragged rows) and rows to CSV (formula-safe)
- pipecsv.py, pipedrive.py, hubspot.py, salesforce.py: the presets, recognised from a header row
- vcard.py: vCard 3.0/4.0 cards to drafts, contacts to cards (vobject)
- ical.py: first meetings and next actions as an iCalendar file (icalendar)
- plan.py: drafts against the pipeline: what is new, updated, unchanged, and the files to write
"""
