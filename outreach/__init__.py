"""Outreach: multilingual SMS patient outreach."""
