"""The catalogue of standard businesses (基幹系業務) a tenant can subscribe to.

Codes are the module package names (GLOSSARY.md); names are the national list of the 20
standardized businesses plus 収納・滞納, which the tax standard family covers.
A module package implements a business; the catalogue exists before every module does,
so that the secretariat can schedule a go-live ahead of the build.
"""

from __future__ import annotations

from kumomura.platform.core.errors import InvalidInput

BUSINESSES: dict[str, str] = {
    "residents": "住民記録",
    "family_register_annex": "戸籍の附票",
    "seal_registration": "印鑑登録",
    "elections": "選挙人名簿管理",
    "property_tax": "固定資産税",
    "inhabitant_tax": "個人住民税",
    "corporate_inhabitant_tax": "法人住民税",
    "light_vehicle_tax": "軽自動車税",
    "collection": "収納・滞納",
    "family_register": "戸籍",
    "school_register": "就学",
    "health_management": "健康管理",
    "nhi": "国民健康保険",
    "national_pension": "国民年金",
    "disability_welfare": "障害者福祉",
    "elderly_medical_premium": "後期高齢者医療",
    "ltc_premium": "介護保険",
    "public_assistance": "生活保護",
    "child_allowance": "児童手当",
    "child_rearing_allowance": "児童扶養手当",
    "child_care_support": "子ども・子育て支援",
}

PLATFORM_MODULE = "platform"
"""Not a business: the permissions and parameters of the platform itself."""

CONSORTIUM_PARTS: dict[str, str] = {"costs": "費用負担 (割り勘)"}
"""Parts of the standard package that serve the consortium, not one municipality."""


def validate_business(code: str) -> str:
    if code not in BUSINESSES:
        known = ", ".join(sorted(BUSINESSES))
        raise InvalidInput(f"business {code!r} is not a standard business ({known})",
                           field="business")
    return code
