"""What the demo and the benchmarks may use of the cost sharing: the bill's items, the
usage meters and each member's standalone cost."""

from __future__ import annotations

from kumomura.costs.service import inputs, meter, parse_items, set_standalone, store_items

__all__ = ["inputs", "meter", "parse_items", "set_standalone", "store_items"]
