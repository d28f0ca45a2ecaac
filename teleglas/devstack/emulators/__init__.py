"""Offline stand-ins that speak the real CoinGlass and Telegram protocols, for the demo and the tests."""
