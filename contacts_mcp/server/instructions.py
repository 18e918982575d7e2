"""What the assistant is told about this server when it connects."""

INSTRUCTIONS = """\
contacts-mcp is a contact-management backend.

Model:
- A contact is one person: identities (ext_id = your own id, email, mobile), other phones, postal
  address, custom attributes, opt-outs per channel (email, sms, voice, voicemail), lists and segments.
- Deduplication: the same ext_id, else the same email (case-insensitive), else the same mobile
  (E.164; national numbers are read in the server's default region) means the same person.
  create_contact, upsert_contacts, imports and subscribe_contact update that person instead of
  creating a duplicate.
- Lists are named groups (optionally in folders); segments are hand-picked (static) or a saved filter
  (dynamic: whoever matches when read).
- Opt-outs: only restore_optout lifts one, with a stated reason and the contact's consent; nothing
  else (create, update, upsert, import, merge, subscribe) does. An address that is no contact yet can
  be opted out too. Deleting a contact is soft and keeps its opt-outs.
- Reachable on a channel: has the address, not opted out of it, not deleted, and for email confirmed.

Working well:
- Find before you change: get_contacts looks contacts up by contact_ids/emails/mobiles, or lists them with
  filters. Every listing is paged: pass next_cursor back until it is absent.
- Many contacts: upsert_contacts (up to 3,000 per call); files: import_file, then get_jobs and
  the job's error report (contacts://imports/{job_id}/errors). Files out: export_contacts, then get_jobs
  for the file (its path, download_url or resource); import_file reads an export back as it was.
- Filters select contacts by fields, lists, segments, reachability, opt-outs: the `filter` argument of
  get_contacts, get_stats and apply_to_contacts; its language is in the contacts://filters resource.
- Mass changes (a whole list, a filter): apply_to_contacts, in two calls; the first is a dry run that
  returns the count, a sample and a plan_token; show them to the user before calling again with it.
- Figures: get_stats (instant, exact); a chart: contacts://stats/{all|list id}/chart.png.
- Errors say what was wrong and how to fix it; correct the named field or id and call again.
Resources: contacts://contacts/{id} and contacts://lists/{id} give one record as JSON.
"""
