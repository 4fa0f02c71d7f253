"""Inbox tables (inbound messages, threads, notes, audit)."""
