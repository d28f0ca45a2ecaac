"""Delivery to Telegram: the Bot API edge (`telegram`) and the send pipeline (`sender`)."""
