"""Parameters of collection: the 督促手数料, and where the 納付書 sends payers."""

from __future__ import annotations

from pydantic import Field

from kumomura.platform import params

MODULE = "collection"


class CollectionParameters(params.Parameters):
    demand_fee: int = Field(ge=0, le=1_000,
                            description="督促手数料 (円、条例による。廃止した団体は0)")
    demand_within_days: int = Field(ge=1, le=20, description="督促状を発する期限 (納期限後の日数)")


PARAMS = params.declare(MODULE, CollectionParameters, {
    # 地方税法第329条第1項 (and its kin per levy): 督促状は納期限後20日以内に発する.
    # The 督促手数料 is the municipality's own by 条例; many have abolished it.
    1989: CollectionParameters(demand_fee=0, demand_within_days=20),
})
