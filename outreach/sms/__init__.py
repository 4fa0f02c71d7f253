"""SMS gateways: the protocol every gateway meets, and the implementations chosen by settings."""
