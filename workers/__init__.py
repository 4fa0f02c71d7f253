"""Celery workers: the scheduler tick and the senders."""
