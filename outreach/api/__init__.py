"""HTTP routers, one per audience."""
