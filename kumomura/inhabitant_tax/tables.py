"""Tables of the inhabitant tax, in each tenant's schema.

課税資料 (income data per person and income year, with the family it declares) go in;
賦課 (assessments, one current version per person and fiscal year, older versions kept as
history) come out. A departure (death, move-out) is noted from the registry's events so
that the next fiscal year leaves the person out.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

from kumomura.inhabitant_tax.rules import OUTPUT_COLUMNS
from kumomura.platform.core.timeutil import Timestamp
from kumomura.platform.storage.db import tenant_metadata

AMOUNTS = ("salary_revenue", "pension_revenue", "other_income")
DECLARED = ("social_insurance", "life_new_general", "life_old_general", "life_new_pension",
            "life_old_pension", "life_care_medical", "earthquake_insurance",
            "medical_expenses")

income_returns = Table(
    "income_returns",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("atena_no", String(15), nullable=False),
    Column("income_year", Integer, nullable=False),
    Column("birth_date", Date, nullable=False),
    *(Column(name, BigInteger, nullable=False) for name in AMOUNTS),
    Column("disability", String(8)),  # general | special
    Column("widow", Boolean, nullable=False),
    Column("single_parent", String(8)),  # mother | father
    Column("working_student", Boolean, nullable=False),
    Column("livelihood_assistance", Boolean, nullable=False),
    *(Column(name, BigInteger, nullable=False) for name in DECLARED),
    Column("donation_furusato", BigInteger, nullable=False, server_default="0"),
    Column("donation_one_stop", Boolean, nullable=False, server_default=false()),
    Column("dividend_income", BigInteger, nullable=False, server_default="0"),
    *(Column(f"donation_{name}", BigInteger, nullable=False, server_default="0")
      for name in ("both", "municipal_only", "prefectural_only")),
    Column("housing_loan_available", BigInteger, nullable=False, server_default="0"),
    Column("housing_loan_used", BigInteger, nullable=False, server_default="0"),
    Column("housing_loan_specified", Boolean, nullable=False, server_default=false()),
    Column("income_tax_base", BigInteger),
    Column("employer_no", String(20)),  # 特別徴収義務者の指定番号; null: 普通徴収
    Column("employer_name", Text),
    Column("source", String(16), nullable=False),  # salary_report | pension_report | declaration
    Column("received_at", Timestamp(), nullable=False),
    UniqueConstraint("atena_no", "income_year", name="ux_income_returns_person_year"),
    Index("ix_income_returns_year_id", "income_year", "id"),
)
"""課税資料: one per person and income year (calendar year before the fiscal year)."""

income_family = Table(
    "income_family",
    tenant_metadata,
    Column("return_id", Integer, ForeignKey("income_returns.id", ondelete="CASCADE"),
           primary_key=True, autoincrement=False),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("role", String(16), nullable=False),  # spouse | dependent
    Column("birth_date", Date, nullable=False),
    *(Column(name, BigInteger, nullable=False) for name in AMOUNTS),
    Column("living_together", Boolean, nullable=False),
    Column("disability", String(8)),
    Column("ascendant", Boolean, nullable=False),
)
"""The spouse and dependants a return declares (控除対象配偶者・扶養親族の申告)."""

_FLAGS = {"income_levy_exempt", "per_capita_exempt", "special_collection"}
CREDIT_FIGURES = {f"{side}_{credit}" for side in ("municipal", "prefectural")
                  for credit in ("donation_credit", "housing_loan_credit", "dividend_credit")}
"""Added in t0005, t0006 and t0008: assessments made before had no such credit (0)."""
CURRENT = text("current")

assessments = Table(
    "assessments",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("atena_no", String(15), nullable=False),
    Column("fiscal_year", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("current", Boolean, nullable=False),
    Column("reason", String(16), nullable=False),  # initial | correction
    Column("note", Text),
    Column("return_id", Integer, nullable=False),
    Column("employer_no", String(20)),
    Column("job_id", Integer),
    Column("assessed_by", Text, nullable=False),
    Column("assessed_at", Timestamp(), nullable=False),
    *(Column(name, Boolean if name in _FLAGS else BigInteger, nullable=False,
             server_default="0" if name in CREDIT_FIGURES else None)
      for name in OUTPUT_COLUMNS if name != "tid"),
    Index("ux_assessments_current", "atena_no", "fiscal_year", unique=True,
          postgresql_where=CURRENT, sqlite_where=CURRENT),
    Index("ix_assessments_person", "atena_no", "fiscal_year", "version"),
    Index("ix_assessments_return", "return_id", "fiscal_year"),
)
"""賦課: every version of every person's assessment; ``current`` marks the one in force."""

assessment_problems = Table(
    "assessment_problems",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, nullable=False, index=True),
    Column("fiscal_year", Integer, nullable=False),
    Column("atena_no", String(15), nullable=False),
    Column("return_id", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("recorded_at", Timestamp(), nullable=False),
)
"""Returns a batch could not assess, with the reason, for the tax office to fix."""

tax_departures = Table(
    "tax_departures",
    tenant_metadata,
    Column("atena_no", String(15), primary_key=True),
    Column("kind", String(16), nullable=False),  # died | moved_out
    Column("on_date", Date, nullable=False),
    Column("event_id", Integer, nullable=False),
)
"""The registry's deaths and move-outs: from the next 賦課期日 the person is not taxed here."""
