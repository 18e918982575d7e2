"""What the assistant is told about this server when it connects."""

INSTRUCTIONS = """\
contacts-mcp is a contact-management backend.

Model:
- A contact is one person: identities (ext_id = your own id, email, mobile), other phones, postal
  address, custom attributes, opt-outs per channel (email, sms, voice, voicemail), list memberships.
- Deduplication: the same ext_id, else the same email (case-insensitive), else the same mobile
  (E.164; national numbers are read in the server's default region) means the same person.
  create_contact and upsert_contacts update that person instead of creating a duplicate.
- A list is a named group of contacts (a distribution list), optionally kept in a folder.
- Deleting a contact is soft (delete_contacts action=restore brings it back). Opt-outs are never
  lifted by creating, updating or importing a contact.

Working well:
- Find before you change: get_contacts looks contacts up by ids/emails/mobiles, or lists them with
  filters. Every listing is paged: pass next_cursor back until it is absent.
- Many contacts at once: upsert_contacts (up to 3,000 per call, per-contact outcomes).
- Errors say what was wrong and how to fix it; correct the named field or id and call again.
Resources: contacts://contacts/{id} and contacts://lists/{id} give one record as JSON.
"""
