"""inhabitant tax: income returns, family, assessments, problems, departures

Revision ID: t0004
Revises: (first of its branch)
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "t0004"
down_revision = None
branch_labels = ("inhabitant_tax",)
depends_on = None

TS = sa.DateTime(timezone=True)
AMOUNTS = ("salary_revenue", "pension_revenue", "other_income")
DECLARED = ("social_insurance", "life_new_general", "life_old_general", "life_new_pension",
            "life_old_pension", "life_care_medical", "earthquake_insurance",
            "medical_expenses")
FLAGS = ("income_levy_exempt", "per_capita_exempt")
FIGURES = (
    "salary_income", "pension_income", "total_income",
    "deduction_social_insurance", "deduction_life_insurance",
    "deduction_earthquake_insurance", "deduction_medical", "deduction_basic",
    "deduction_spouse", "deduction_spouse_special", "deduction_dependents",
    "deduction_specific_relative", "deduction_disability", "deduction_widow",
    "deduction_single_parent", "deduction_working_student", "deductions_total",
    "taxable_base", "personal_difference",
)
SIDE = ("computed_income_levy", "adjustment_credit", "threshold_adjustment",
        "flat_reduction", "income_levy", "per_capita")


def _figures() -> list[sa.Column[object]]:
    columns: list[sa.Column[object]] = [sa.Column(n, sa.BigInteger, nullable=False)
                                        for n in FIGURES]
    columns += [sa.Column(n, sa.Boolean, nullable=False) for n in FLAGS]
    columns += [sa.Column(f"{s}_{f}", sa.BigInteger, nullable=False)
                for s in ("municipal", "prefectural") for f in SIDE]
    columns += [sa.Column(n, sa.BigInteger, nullable=False)
                for n in ("forest_environment_tax", "total",
                          *(f"ordinary_{i}" for i in range(1, 5)),
                          *(f"special_{i}" for i in range(1, 13)))]
    columns.append(sa.Column("special_collection", sa.Boolean, nullable=False))
    return columns


def upgrade() -> None:
    op.create_table(
        "income_returns",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("atena_no", sa.String(15), nullable=False),
        sa.Column("income_year", sa.Integer, nullable=False),
        sa.Column("birth_date", sa.Date, nullable=False),
        *(sa.Column(n, sa.BigInteger, nullable=False) for n in AMOUNTS),
        sa.Column("disability", sa.String(8)),
        sa.Column("widow", sa.Boolean, nullable=False),
        sa.Column("single_parent", sa.String(8)),
        sa.Column("working_student", sa.Boolean, nullable=False),
        sa.Column("livelihood_assistance", sa.Boolean, nullable=False),
        *(sa.Column(n, sa.BigInteger, nullable=False) for n in DECLARED),
        sa.Column("employer_no", sa.String(20)),
        sa.Column("employer_name", sa.Text),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.UniqueConstraint("atena_no", "income_year", name="ux_income_returns_person_year"),
    )
    op.create_index("ix_income_returns_year_id", "income_returns", ["income_year", "id"])
    op.create_table(
        "income_family",
        sa.Column("return_id", sa.Integer,
                  sa.ForeignKey("income_returns.id", ondelete="CASCADE"), primary_key=True,
                  autoincrement=False),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("birth_date", sa.Date, nullable=False),
        *(sa.Column(n, sa.BigInteger, nullable=False) for n in AMOUNTS),
        sa.Column("living_together", sa.Boolean, nullable=False),
        sa.Column("disability", sa.String(8)),
        sa.Column("ascendant", sa.Boolean, nullable=False),
    )
    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("atena_no", sa.String(15), nullable=False),
        sa.Column("fiscal_year", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("current", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("return_id", sa.Integer, nullable=False),
        sa.Column("employer_no", sa.String(20)),
        sa.Column("job_id", sa.Integer),
        sa.Column("assessed_by", sa.Text, nullable=False),
        sa.Column("assessed_at", TS, nullable=False),
        *_figures(),
    )
    current = sa.text("current")
    op.create_index("ux_assessments_current", "assessments", ["atena_no", "fiscal_year"],
                    unique=True, postgresql_where=current, sqlite_where=current)
    op.create_index("ix_assessments_person", "assessments",
                    ["atena_no", "fiscal_year", "version"])
    op.create_index("ix_assessments_return", "assessments", ["return_id", "fiscal_year"])
    op.create_table(
        "assessment_problems",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.Integer, nullable=False),
        sa.Column("fiscal_year", sa.Integer, nullable=False),
        sa.Column("atena_no", sa.String(15), nullable=False),
        sa.Column("return_id", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
    )
    op.create_index("ix_assessment_problems_job_id", "assessment_problems", ["job_id"])
    op.create_table(
        "tax_departures",
        sa.Column("atena_no", sa.String(15), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("event_id", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for name in ("tax_departures", "assessment_problems", "assessments", "income_family",
                 "income_returns"):
        op.drop_table(name)
