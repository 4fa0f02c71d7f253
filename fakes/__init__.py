"""Fakes of the services outreach talks to, for the tests and the benchmarks (never shipped in `outreach`)."""
