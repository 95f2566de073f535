"""出生祝金: a town's own birth-celebration payment (see module.py for the map)."""
