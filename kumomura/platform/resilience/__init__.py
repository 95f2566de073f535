"""Backups, the second site, drills, and the town hall's degraded mode."""
