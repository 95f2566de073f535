"""Engines, tenant transactions, bulk frames, numbering and migrations."""
