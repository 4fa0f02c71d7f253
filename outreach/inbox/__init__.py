"""Inbound replies and the care-coordinator queue."""
