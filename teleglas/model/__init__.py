"""Shapes every step shares: typed events, alerts and sends, ids, symbols, chat ids. No I/O."""
