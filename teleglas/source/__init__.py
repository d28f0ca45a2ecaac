"""Step 1-2: transport and parsing, one package per venue, and the listener process that feeds the queue."""
