"""Parameters of seal registration: the fee, the certification text, the minimum age."""

from __future__ import annotations

from pydantic import Field

from kumomura.platform import params

MODULE = "seal_registration"


class SealParameters(params.Parameters):
    certificate_fee: int = Field(ge=0, le=10_000, description="印鑑登録証明書 1通 (円)")
    certification: str = Field(description="認証文")
    min_age: int = Field(ge=0, le=20, description="登録できる年齢 (歳)")


PARAMS = params.declare(MODULE, SealParameters, {
    1967: SealParameters(
        certificate_fee=300,
        certification="この写しは、登録された印影と相違ないことを証明する。",
        # 印鑑登録証明事務処理要領 第2-1: 15歳未満の者は登録を受けることができない
        min_age=15,
    ),
})
