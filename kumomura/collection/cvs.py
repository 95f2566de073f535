"""コンビニ収納's files from the 収納代行: 速報 (the day after a payer paid at a store) and
確報 (with the money, about ten days later), fixed records of 120 bytes in ASCII, with or
without CR LF after each record.

The 収納代行 companies each publish their own file; they share the shape read here (the
one the 全銀協 file has too): a header (データ区分 1), one data record (2) per payment
at a store, a trailer (8) with the count and total, an end record (9). Positions
(1-based; numbers right-aligned and zero-filled, the rest spaces):

- header: 1 区分 ``1``; 2 種別 (``1`` 速報, ``2`` 確報); 3–8 収納企業コード; 9–16 作成日
  YYYYMMDD.
- data: 1 区分 ``2``; 2–3 コンビニ本部コード; 4–11 収納日 YYYYMMDD; 12–15 収納時刻 HHMM;
  16–59 the 44 digits the store scanned from the slip's barcode; 60–66 店舗コード;
  67–74 入金予定日 YYYYMMDD (確報; spaces in a 速報).
- trailer: 1 区分 ``8``; 2–9 件数; 10–21 合計金額.

The barcode gives the 納付番号 and the amount (see ``slips.cvs_digits``); the 収納日 is
the day paid (a payment taken by a store is paid the day the store took it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from kumomura.platform.core.errors import FieldProblem, InvalidInput, invalid
from kumomura.platform.levies import check_digit

RECORD = 120
KINDS = {"1": "preliminary", "2": "final"}
KIND_NAMES = {"preliminary": "速報", "final": "確報"}


@dataclass(frozen=True)
class StorePayment:
    """One payment at a store, as its data record gives it."""

    line: int
    paid_on: date
    barcode: str
    store: str
    chain: str = "01"
    paid_at: str = "1200"
    settles_on: date | None = None

    @property
    def payment_no(self) -> str:
        """The 納付番号 the barcode carries (its 21 digits and their check digit)."""
        free = self.barcode[8:29]
        return free + check_digit(free)

    @property
    def amount(self) -> int:
        return int(self.barcode[37:43])


@dataclass(frozen=True)
class StoreFile:
    kind: str  # preliminary | final
    company_code: str
    made_on: date
    payments: list[StorePayment]


def store_file(kind: str, company_code: str, made_on: date,
               paid: list[StorePayment], *, newline: bool = True) -> bytes:
    """A 速報 or 確報 file as a 収納代行 sends it (for tests, the demo and the bench)."""
    code = {v: k for k, v in KINDS.items()}[kind]
    records = [f"1{code}{company_code}{made_on:%Y%m%d}".ljust(RECORD)]
    for p in paid:
        settles = p.settles_on.strftime("%Y%m%d") if p.settles_on and kind == "final" else ""
        records.append(f"2{p.chain}{p.paid_on:%Y%m%d}{p.paid_at}{p.barcode}{p.store:>07}"
                       f"{settles:8}".ljust(RECORD))
    records.append(f"8{len(paid):08d}{sum(p.amount for p in paid):012d}".ljust(RECORD))
    records.append("9".ljust(RECORD))
    end = "\r\n" if newline else ""
    return "".join(r + end for r in records).encode("ascii")


def _records(content: bytes) -> list[bytes]:
    if b"\r\n" in content or b"\n" in content:
        parts = content.replace(b"\r\n", b"\n").split(b"\n")
        return parts[:-1] if parts[-1] == b"" else parts
    return [content[i:i + RECORD] for i in range(0, len(content), RECORD)]


def _day(raw: str) -> date | None:
    try:
        return datetime.strptime(raw, "%Y%m%d").date()
    except ValueError:
        return None


def read_store_file(name: str, content: bytes, company_code: str) -> StoreFile:
    """A 速報 or 確報 file, checked whole: every record 120 bytes and of its kind in order,
    the municipality's 収納企業コード, each barcode's own check digit, dates that are
    dates, the trailer's count and total those of the data; every problem named
    ``FILE:record``."""
    records = _records(content)
    problems = [FieldProblem(f"{name}:{i}", f"レコード長が{len(r)}バイトです "
                                            f"({RECORD}バイトのはず)")
                for i, r in enumerate(records, start=1) if len(r) != RECORD]
    if problems:
        raise invalid(problems[:100])
    try:
        lines = [r.decode("ascii") for r in records]
    except UnicodeDecodeError:
        raise InvalidInput(f"{name}: 半角英数字以外の文字があります", field="file") from None
    if len(lines) < 3 or lines[0][0] != "1" or lines[-2][0] != "8" or lines[-1][0] != "9":
        raise InvalidInput(f"{name}: ヘッダー・トレーラ・エンドのレコードがそろっていません",
                           field="file")
    header = lines[0]
    kind = KINDS.get(header[1])
    made_on = _day(header[8:16])
    if kind is None or made_on is None:
        raise InvalidInput(f"{name}:1: 種別 ({header[1]!r}) か作成日 ({header[8:16]!r}) が"
                           "読めません", field="file")
    if header[2:8] != company_code:
        raise InvalidInput(f"{name}:1: 収納企業コード {header[2:8]} はこの団体のもの "
                           f"({company_code or '未設定'}) ではありません", field="file")
    paid = []
    for i, rec in enumerate(lines[1:-2], start=2):
        where = f"{name}:{i}"
        if rec[0] != "2":
            problems.append(FieldProblem(where, "データ・レコード (区分2) ではありません"))
            continue
        barcode, paid_on = rec[15:59], _day(rec[3:11])
        if paid_on is None:
            problems.append(FieldProblem(where, f"収納日 {rec[3:11]!r} は日付ではありません"))
        if not (barcode.isdigit() and barcode.startswith("91")):
            problems.append(FieldProblem(where, "バーコード情報が44桁の数字 (91で始まる) では"
                                                "ありません"))
            continue
        if check_digit(barcode[:43]) != barcode[43]:
            problems.append(FieldProblem(where, "バーコード情報のチェックディジットが合いません"))
        elif barcode[2:8] != company_code:
            problems.append(FieldProblem(where, f"収納企業コード {barcode[2:8]} はこの団体の"
                                                "ものではありません"))
        elif int(barcode[37:43]) == 0:
            problems.append(FieldProblem(where, "金額が0円です"))
        if paid_on is not None:
            paid.append(StorePayment(line=i, paid_on=paid_on, barcode=barcode,
                                     store=rec[59:66].strip(), chain=rec[1:3],
                                     paid_at=rec[11:15], settles_on=_day(rec[66:74])))
    trailer = lines[-2]
    where = f"{name}:{len(lines) - 1}"
    if not (trailer[1:9].isdigit() and trailer[9:21].isdigit()):
        problems.append(FieldProblem(where, "トレーラの件数・金額が数字ではありません"))
    elif not problems and (int(trailer[1:9]), int(trailer[9:21])) != (
            len(paid), sum(p.amount for p in paid)):
        problems.append(FieldProblem(where, f"トレーラの件数・金額 ({int(trailer[1:9])}件 "
                                            f"{int(trailer[9:21]):,}円) がデータの "
                                            f"({len(paid)}件 {sum(p.amount for p in paid):,}円)"
                                            " と合いません"))
    if problems:
        raise invalid(problems[:100])
    return StoreFile(kind=kind, company_code=company_code, made_on=made_on, payments=paid)
