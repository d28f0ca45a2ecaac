"""Decisions: which events become alerts, and what the alert says. Pure logic except `engine`'s store calls."""
