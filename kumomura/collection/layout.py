"""Layouts of collection (収納管理): charges, their history, payment files, payments and
allocations, for export, import and the municipality's own copy."""

from __future__ import annotations

from kumomura.collection.params import MODULE
from kumomura.collection.tables import (
    allocations,
    charge_changes,
    charges,
    debit_accounts,
    debit_items,
    demands,
    employers,
    enforcement_stays,
    installment_plans,
    payment_files,
    payments,
    plan_installments,
    refunds,
    write_offs,
)
from kumomura.platform.exchange.layouts import declare

LAYOUTS = (
    declare(charges, module=MODULE, title="調定", labels={
        "id": "調定番号", "levy": "税目 (inhabitant_tax 等)", "fiscal_year": "年度",
        "payer_kind": "納付者区分 (person 本人 / employer 特別徴収義務者)",
        "payer_no": "納付者番号 (宛名番号・指定番号)", "atena_no": "課税対象者の宛名番号",
        "installment": "期別 (特別徴収は1=6月分)", "label": "期別の表示",
        "due_date": "納期限", "amount": "調定額 (円)", "payment_no": "納付番号",
        "created_at": "調定日時"},
        allowed={"payer_kind": ("person", "employer")},
        references={"atena_no": "atena.atena_no"}),
    declare(charge_changes, module=MODULE, title="調定の履歴", labels={
        "id": "履歴番号", "charge_id": "調定番号",
        "kind": "区分 (initial 当初 / increase 増額 / decrease 減額)", "delta": "増減額 (円)",
        "amount_after": "変更後の調定額 (円)",
        "reason": "事由 (initial 当初課税 / correction 更正)",
        "event_id": "連携イベント番号", "changed_at": "変更日時"},
        allowed={"kind": ("initial", "increase", "decrease"),
                 "reason": ("initial", "correction")},
        references={"charge_id": "charges.id"}),
    declare(payment_files, module=MODULE, title="収納ファイル", labels={
        "id": "ファイル番号", "name": "ファイル名", "sha256": "SHA-256",
        "kind": "種類 (counter_csv 窓口・金融機関CSV / zengin_debit 口座振替結果 / "
                "cvs_preliminary コンビニ速報 / cvs_final コンビニ確報)", "records": "件数",
        "total": "合計金額 (円)", "imported_by": "取込者", "imported_at": "取込日時"}),
    declare(payments, module=MODULE, title="収納", labels={
        "id": "収納番号", "file_id": "ファイル番号", "line": "ファイルの行",
        "paid_on": "納付日", "amount": "納付額 (円)", "payment_no": "納付番号",
        "channel": "収納経路 (counter 窓口 / bank 金融機関 / convenience コンビニ / "
                   "debit 口座振替)",
        "status": "状態 (applied 消込済 / review 要確認 / provisional コンビニ速報 (未入金) / "
                  "confirmed 確報で確認済 / unconfirmed 確報になかった速報)",
        "payer_kind": "納付者区分", "payer_no": "納付者番号", "note": "備考"},
        allowed={"channel": ("counter", "bank", "convenience", "debit"),
                 "status": ("applied", "review", "provisional", "confirmed", "unconfirmed")},
        references={"file_id": "payment_files.id"}),
    declare(allocations, module=MODULE, title="消込の明細", labels={
        "id": "明細番号", "payment_id": "収納番号", "charge_id": "調定番号",
        "part": "充当先 (tax 本税 / late_fee 延滞金 / overpaid 過誤納金 / refund 還付)",
        "amount": "金額 (円、還付・充当で移した元は負)", "applied_on": "収納日 (充当は充当適状日)",
        "applied_at": "消込日時", "refund_id": "還付・充当の決定番号"},
        allowed={"part": ("tax", "late_fee", "overpaid", "refund")},
        references={"payment_id": "payments.id", "charge_id": "charges.id",
                    "refund_id": "refunds.id"}),
    declare(refunds, module=MODULE, title="還付・充当の決定", labels={
        "id": "決定番号", "payer_kind": "納付者区分", "payer_no": "納付者番号",
        "decided_on": "支出決定日", "appropriated": "充当額 (円)", "refunded": "還付額 (円)",
        "interest": "還付加算金 (円)", "detail": "内訳 (JSON)", "decided_by": "決定者",
        "decided_at": "決定日時"},
        allowed={"payer_kind": ("person", "employer")}),
    declare(debit_accounts, module=MODULE, title="口座振替の申込", labels={
        "id": "申込番号", "payer_kind": "納付者区分", "payer_no": "納付者番号",
        "levy": "税目", "bank_code": "金融機関コード", "branch_code": "支店コード",
        "account_type": "預金種目 (1 普通 / 2 当座 / 9 その他)", "account_no": "口座番号",
        "holder": "口座名義 (半角カナ)", "starts_on": "振替開始 (この日以後の納期限から)",
        "ends_on": "振替終了日", "registered_by": "登録者", "registered_at": "登録日時"},
        allowed={"payer_kind": ("person", "employer")}),
    declare(debit_items, module=MODULE, title="口座振替の依頼と結果", labels={
        "id": "依頼番号 (顧客番号)", "charge_id": "調定番号", "account_id": "申込番号",
        "debit_on": "引落日", "amount": "依頼金額 (円)", "requested_at": "依頼日時",
        "result": "振替結果コード (0 振替済 / 1 資金不足 / 2 取引なし / 3 預金者の都合 / "
                  "4 依頼書なし / 8 委託者の都合 / 9 その他)",
        "result_file_id": "結果ファイル番号"},
        references={"charge_id": "charges.id", "account_id": "debit_accounts.id",
                    "result_file_id": "payment_files.id"}),
    declare(demands, module=MODULE, title="督促", labels={
        "id": "督促番号", "charge_id": "調定番号", "issued_on": "発付日",
        "amount": "督促した税額 (円)", "fee": "督促手数料 (円)", "job_id": "作成ジョブ",
        "file": "ファイル", "page": "ページ"},
        references={"charge_id": "charges.id"}),
    declare(installment_plans, module=MODULE, title="分納誓約", labels={
        "id": "誓約番号", "payer_kind": "納付者区分", "payer_no": "納付者番号",
        "made_on": "誓約日", "total": "誓約額 (誓約日の未納額と延滞金、円)", "note": "備考",
        "made_by": "受付者", "made_at": "受付日時", "cancelled_on": "取消日"},
        allowed={"payer_kind": ("person", "employer")}),
    declare(plan_installments, module=MODULE, title="分納誓約の納付予定", labels={
        "id": "予定番号", "plan_id": "誓約番号", "due_on": "納付予定日", "amount": "予定額 (円)"},
        references={"plan_id": "installment_plans.id"}),
    declare(enforcement_stays, module=MODULE, title="滞納処分の執行停止", labels={
        "id": "停止番号", "payer_kind": "納付者区分", "payer_no": "納付者番号",
        "started_on": "停止日", "ground": "事由 (地方税法第15条の7第1項 1〜3号)",
        "immediate": "即時消滅 (第5項: 1 する / 0 しない)", "reason": "理由",
        "lifted_on": "取消日 (第15条の8)", "lift_reason": "取消の理由", "decided_by": "決定者",
        "decided_at": "決定日時"},
        allowed={"payer_kind": ("person", "employer"), "ground": ("1", "2", "3"),
                 "immediate": ("0", "1")}),
    declare(write_offs, module=MODULE, title="不納欠損", labels={
        "id": "欠損番号", "charge_id": "調定番号", "extinguished_on": "消滅日",
        "ground": "事由 (prescription 時効 / stay_3_years 執行停止3年 / stay_at_once 即時消滅)",
        "stay_id": "停止番号", "tax": "欠損した本税 (円)", "late_fee": "欠損した延滞金 (円)",
        "decided_by": "決定者", "decided_at": "決定日時"},
        allowed={"ground": ("prescription", "stay_3_years", "stay_at_once")},
        references={"charge_id": "charges.id", "stay_id": "enforcement_stays.id"}),
    declare(employers, module=MODULE, title="特別徴収義務者", labels={
        "id": "番号", "payer_no": "特別徴収義務者指定番号", "name": "名称",
        "postal_code": "郵便番号", "address": "所在地", "updated_by": "更新者",
        "updated_at": "更新日時"}),
)
