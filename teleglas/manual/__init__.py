"""The manual command bot: market data on demand and self-service alert settings."""
