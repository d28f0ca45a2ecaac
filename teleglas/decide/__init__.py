"""Step 3: rules, scoring, aggregation, the engine, fan-out to chats, the polled checks, every alert text."""
