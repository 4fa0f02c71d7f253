"""What an operator watches: Prometheus metrics and structured logs, with nothing identifying in either."""
