"""Care journeys: check-in series timed from each patient's own event, enrolled by per-clinic rules."""
