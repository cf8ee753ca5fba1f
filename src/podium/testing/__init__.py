"""Test support shipped with the package so tests/ and bench/ share it: a fake Airtable and data for it."""
