"""Parameters of the resident registry: who certifies, what a certificate costs, and the
notification periods the law sets.

Fees are fixed by each municipality's fee ordinance (手数料条例); the default is the
usual 300 yen, which a member overrides with its own. The mayor's title and name have no
national value: a certificate refuses to print until the municipality has set them.
"""

from __future__ import annotations

from pydantic import Field

from kumomura.platform import params

MODULE = "residents"

NOTIFICATION_DAYS = {
    "move_in": 14,  # 住民基本台帳法 第22条: 転入をした日から14日以内
    "relocation": 14,  # 同 第23条: 転居をした日から14日以内
    "move_out": 14,  # 同 第24条: あらかじめ (after the fact accepted, flagged after 14 days)
    "household_change": 14,  # 同 第25条: 変更があった日から14日以内
    "birth": 14,  # 戸籍法 第49条: 出生の日から14日以内
    "death": 7,  # 戸籍法 第86条: 死亡の事実を知った日から7日以内
}


class ResidentsParameters(params.Parameters):
    """Values a municipality sets for its resident registry."""

    mayor_title: str = Field(description="認証者の職名 (e.g. 米沢市長)")
    mayor_name: str = Field(description="認証者の氏名")
    certificate_fee: int = Field(ge=0, le=10_000, description="住民票の写し 1通の手数料 (円)")
    removed_certificate_fee: int = Field(ge=0, le=10_000, description="除票の写し 1通 (円)")
    entries_certificate_fee: int = Field(ge=0, le=10_000,
                                         description="住民票記載事項証明書 1通 (円)")
    certification_copy: str = Field(description="認証文: 住民票の写し")
    certification_removed: str = Field(description="認証文: 除票の写し")
    certification_entries: str = Field(description="認証文: 記載事項証明書")
    notification_days: dict[str, int] = Field(
        description="届出期間 (日): これを過ぎた届出は期間経過として記録する")
    protection_order_months: int = Field(ge=1, le=24, description="支援措置の期間 (月)")


PARAMS = params.declare(MODULE, ResidentsParameters, {
    # From 住民基本台帳法 (昭和42年): changes are entered with past effective dates.
    1967: ResidentsParameters(
        mayor_title="",
        mayor_name="",
        certificate_fee=300,
        removed_certificate_fee=300,
        entries_certificate_fee=300,
        certification_copy="この写しは、住民票の原本と相違ないことを証明する。",
        certification_removed="この写しは、住民票の除票の原本と相違ないことを証明する。",
        certification_entries="上記のとおり住民票に記載されていることを証明する。",
        notification_days=NOTIFICATION_DAYS,
        # 住民基本台帳事務処理要領: 支援措置の期間は1年 (延長は1年ずつ)
        protection_order_months=12,
    ),
})
