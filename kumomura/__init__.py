"""kumomura (雲村): a community cloud for municipalities' core business systems."""

__version__ = "0.1.0"
