"""Campaign tables (campaigns, steps, enrollments)."""
