"""Read-only access to the v1 Airtable base: the live API (pyairtable) and exported snapshots."""
