"""Layouts of the inhabitant tax: 課税資料 in, 賦課 out (標準仕様 個人住民税 in spirit)."""

from __future__ import annotations

from kumomura.inhabitant_tax.params import MODULE
from kumomura.inhabitant_tax.rules import DEDUCTIONS, SIDE_FIGURES
from kumomura.inhabitant_tax.tables import (
    assessment_problems,
    assessments,
    income_family,
    income_returns,
    tax_departures,
)
from kumomura.platform.exchange.layouts import declare

EARNINGS = {"birth_date": "生年月日", "salary_revenue": "給与収入 (円)",
            "pension_revenue": "公的年金等収入 (円)", "other_income": "その他の所得 (円)",
            "disability": "障害者区分 (general 普通 / special 特別)"}
DISABILITY = ("general", "special")

_DEDUCTION_LABELS = {
    "social_insurance": "社会保険料控除", "life_insurance": "生命保険料控除",
    "earthquake_insurance": "地震保険料控除", "medical": "医療費控除", "basic": "基礎控除",
    "spouse": "配偶者控除", "spouse_special": "配偶者特別控除", "dependents": "扶養控除",
    "specific_relative": "特定親族特別控除", "disability": "障害者控除", "widow": "寡婦控除",
    "single_parent": "ひとり親控除", "working_student": "勤労学生控除"}
_SIDE_LABELS = {"computed_income_levy": "算出所得割額", "adjustment_credit": "調整控除",
                "threshold_adjustment": "非課税限度額による調整",
                "dividend_credit": "配当控除",
                "housing_loan_credit": "住宅借入金等特別税額控除",
                "donation_credit": "寄附金税額控除", "flat_reduction": "定額減税",
                "income_levy": "所得割額", "per_capita": "均等割額"}
_MONTHS = ("6月", "7月", "8月", "9月", "10月", "11月", "12月", "1月", "2月", "3月", "4月", "5月")

LAYOUTS = (
    declare(income_returns, module=MODULE, title="課税資料", labels={
        "id": "課税資料番号", "atena_no": "宛名番号", "income_year": "所得年 (暦年)", **EARNINGS,
        "widow": "寡婦", "single_parent": "ひとり親 (mother 母 / father 父)",
        "working_student": "勤労学生", "livelihood_assistance": "生活扶助",
        "social_insurance": "社会保険料 (円)", "life_new_general": "生命保険料 一般 新 (円)",
        "life_old_general": "生命保険料 一般 旧 (円)", "life_new_pension": "個人年金 新 (円)",
        "life_old_pension": "個人年金 旧 (円)", "life_care_medical": "介護医療保険料 (円)",
        "earthquake_insurance": "地震保険料 (円)", "medical_expenses": "医療費 (円)",
        "donation_furusato": "都道府県・市区町村への寄附金 (円)",
        "donation_one_stop": "寄附金税額控除の申告特例",
        "dividend_income": "その他の所得のうち配当所得 (円)",
        "donation_both": "共同募金会・日赤・県と市の条例指定の寄附金 (円)",
        "donation_municipal_only": "市区町村の条例指定のみの寄附金 (円)",
        "donation_prefectural_only": "都道府県の条例指定のみの寄附金 (円)",
        "housing_loan_available": "住宅借入金等特別控除可能額 (円)",
        "housing_loan_used": "住宅借入金等特別控除の額 (所得税, 円)",
        "housing_loan_specified": "住宅借入金等 特定取得等 (7%)",
        "income_tax_base": "所得税の課税総所得金額等 (円)",
        "employer_no": "特別徴収義務者指定番号", "employer_name": "特別徴収義務者名",
        "source": "資料区分 (salary_report / pension_report / declaration)",
        "received_at": "受付日時"},
        allowed={"disability": DISABILITY, "single_parent": ("mother", "father"),
                 "source": ("salary_report", "pension_report", "declaration")},
        references={"atena_no": "atena.atena_no"}),
    declare(income_family, module=MODULE, title="課税資料の配偶者・扶養親族", labels={
        "return_id": "課税資料番号", "seq": "連番", "role": "区分 (spouse 配偶者 / dependent 扶養)",
        **EARNINGS, "living_together": "同居", "ascendant": "直系尊属"},
        allowed={"role": ("spouse", "dependent"), "disability": DISABILITY},
        references={"return_id": "income_returns.id"}),
    declare(assessments, module=MODULE, title="個人住民税の賦課 (履歴を含む)", labels={
        "id": "賦課番号", "atena_no": "宛名番号", "fiscal_year": "年度", "version": "版",
        "current": "現在の版", "reason": "区分 (initial 当初 / correction 更正)",
        "note": "更正の理由", "return_id": "課税資料番号", "employer_no": "特別徴収義務者指定番号",
        "job_id": "当初課税のジョブ番号", "assessed_by": "賦課者", "assessed_at": "賦課日時",
        "salary_income": "給与所得 (円)", "pension_income": "公的年金等に係る雑所得 (円)",
        "total_income": "総所得金額 (円)",
        **{f"deduction_{d}": f"{_DEDUCTION_LABELS[d]} (円)" for d in DEDUCTIONS},
        "deductions_total": "所得控除合計 (円)", "taxable_base": "課税標準 (円)",
        "personal_difference": "人的控除額の差の合計 (円)",
        "income_levy_exempt": "所得割非課税", "per_capita_exempt": "均等割非課税",
        **{f"{side}_{f}": f"{'市町村民税' if side == 'municipal' else '道府県民税'} "
                          f"{_SIDE_LABELS[f]} (円)"
           for side in ("municipal", "prefectural") for f in SIDE_FIGURES},
        "forest_environment_tax": "森林環境税 (円)", "total": "年税額 (円)",
        **{f"ordinary_{i}": f"普通徴収 第{i}期 (円)" for i in range(1, 5)},
        **{f"special_{i}": f"特別徴収 {_MONTHS[i - 1]}分 (円)" for i in range(1, 13)},
        "special_collection": "特別徴収"},
        allowed={"reason": ("initial", "correction")},
        references={"return_id": "income_returns.id"}),
    declare(assessment_problems, module=MODULE, title="当初課税で計算できなかった課税資料",
            labels={"id": "番号", "job_id": "ジョブ番号", "fiscal_year": "年度",
                    "atena_no": "宛名番号", "return_id": "課税資料番号", "reason": "理由",
                    "recorded_at": "記録日時"}),
    declare(tax_departures, module=MODULE, title="住民記録の消除 (翌年度から課税しない)", labels={
        "atena_no": "宛名番号", "kind": "区分 (died 死亡 / moved_out 転出)", "on_date": "異動日",
        "event_id": "イベント番号"}, allowed={"kind": ("died", "moved_out")}),
)
