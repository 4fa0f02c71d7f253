"""Clinics domain."""
