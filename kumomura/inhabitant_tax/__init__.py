"""個人住民税: the individual inhabitant tax (see module.py for the map)."""
