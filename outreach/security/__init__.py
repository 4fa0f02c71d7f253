"""Security controls: who may use the simulator, rate limits, request-size limits, PHI content checks,
the append-only audit trail and retention."""
