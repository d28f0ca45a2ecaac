"""The live dashboard: `python -m teleglas.dashboard` (DASHBOARD_PORT, basic auth MONITOR_USER/MONITOR_PASSWORD)."""
