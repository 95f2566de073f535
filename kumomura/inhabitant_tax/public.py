"""What other modules, the demo and the benchmarks may use of the inhabitant tax:
counts over one municipality's open transaction, the 当初課税 job, and synthetic
課税資料 for demonstration and measurement. Nothing else of this package crosses."""

from __future__ import annotations

import polars as pl

from kumomura.inhabitant_tax import synthetic
from kumomura.inhabitant_tax.batch import start as start_assessment
from kumomura.inhabitant_tax.params import MODULE
from kumomura.inhabitant_tax.service import count_current, notices_of
from kumomura.inhabitant_tax.tables import income_family, income_returns
from kumomura.platform.storage.db import Database
from kumomura.platform.storage.frames import continue_sequences, write_frame

__all__ = ["MODULE", "count_current", "load_synthetic_returns", "notices_of",
           "start_assessment"]


def load_synthetic_returns(db: Database, lg_code: str, adults: pl.DataFrame,
                           income_year: int, *, seed: int) -> int:
    """Synthetic 課税資料 of ``income_year`` for the given adults (``atena_no``,
    ``birth_date``), written as they would arrive from the old system; the count."""
    if adults.height == 0:
        return 0
    returns, family = synthetic.returns(adults.height, income_year, seed=seed,
                                        atena_nos=adults["atena_no"].to_list(),
                                        birth_dates=adults["birth_date"].to_list())
    with db.tenant_tx(lg_code) as conn:  # explicit ids: the sequence is moved past
        write_frame(conn, income_returns, returns)
        write_frame(conn, income_family, family)
        continue_sequences(conn, income_returns)
    return adults.height

