"""Step 4: the Telegram edge, the send stages and their policy, the shared rate limit, splitting."""
