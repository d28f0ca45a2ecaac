"""The live dashboard: `python -m teleglas.dashboard` (DASHBOARD_PORT, basic auth DASHBOARD_USER/DASHBOARD_PASSWORD)."""
