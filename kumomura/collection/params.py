"""Parameters of collection: the 督促手数料, and the municipality as 口座振替 委託者."""

from __future__ import annotations

from pydantic import Field

from kumomura.platform import params

MODULE = "collection"


class CollectionParameters(params.Parameters):
    demand_fee: int = Field(ge=0, le=1_000,
                            description="督促手数料 (円、条例による。廃止した団体は0)")
    certificate_fee: int = Field(default=300, ge=0, le=10_000,
                                 description="納税証明書 1通の手数料 (円、条例による)")
    demand_within_days: int = Field(ge=1, le=20, description="督促状を発する期限 (納期限後の日数)")
    # 口座振替の委託者 (the municipality at its designated bank): its own, no national value.
    debit_consignor_code: str = Field(default="", pattern=r"^(\d{10})?$",
                                      description="口座振替 委託者コード (10桁、金融機関が付番)")
    debit_consignor_name: str = Field(default="", max_length=40, description="委託者名 (半角カナ)")
    debit_bank_code: str = Field(default="0000", pattern=r"^\d{4}$",
                                 description="取引金融機関コード")
    debit_bank_name: str = Field(default="", max_length=15, description="取引金融機関名 (半角カナ)")
    debit_branch_code: str = Field(default="000", pattern=r"^\d{3}$", description="取引支店コード")
    debit_branch_name: str = Field(default="", max_length=15, description="取引支店名 (半角カナ)")
    debit_account_type: int = Field(default=1, ge=1, le=9, description="委託者の預金種目")
    cvs_company_code: str = Field(
        default="", pattern=r"^(\d{6})?$",
        description="コンビニ収納の収納企業コード (6桁、空ならバーコードなし)")
    debit_account_no: str = Field(default="0000000", pattern=r"^\d{7}$",
                                  description="委託者の口座番号")


PARAMS = params.declare(MODULE, CollectionParameters, {
    # 地方税法第329条第1項 (and its kin per levy): 督促状は納期限後20日以内に発する.
    # The 督促手数料 is the municipality's own by 条例; many have abolished it.
    1989: CollectionParameters(demand_fee=0, demand_within_days=20),
})
