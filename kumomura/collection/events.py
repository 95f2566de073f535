"""What collection publishes for others to subscribe to: nothing yet. It subscribes to
the levies' ``<levy>.charged`` events (``platform/levies.py``)."""

from __future__ import annotations

from kumomura.platform.events import DomainEvent

PUBLISHED: tuple[type[DomainEvent], ...] = ()
