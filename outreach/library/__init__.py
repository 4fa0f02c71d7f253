"""A clinic's own template library: saved texts per language, with stale translations flagged."""
