"""The 全銀協 預金口座振替 file (種別コード 91): fixed records of 120 bytes, JIS X 0201
(half-width katakana, digits, upper-case letters) in Shift_JIS, with or without CR LF
after each record (banks take both; results usually come with them).

Records: a header (データ区分 1), data records (2), a trailer (8) with the counts and
sums, an end record (9). Numbers are right-aligned and zero-filled, text left-aligned and
space-filled. The layouts are the 全銀協 規定 as the banks publish them (e.g. 宮崎銀行,
北國銀行 help pages for the header; the data and trailer as every bank's spec gives them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import jaconv

from kumomura.platform.core.errors import FieldProblem, InvalidInput, invalid

RECORD = 120
KIND = "91"  # 種別コード: 口座振替
RESULTS = {
    0: "振替済", 1: "資金不足", 2: "取引なし", 3: "預金者の都合による振替停止",
    4: "預金口座振替依頼書なし", 8: "委託者の都合による振替停止", 9: "その他",
}
"""振替結果コード as the banks return them."""

_SMALL = str.maketrans("ｧｨｩｪｫｬｭｮｯ", "ｱｲｳｴｵﾔﾕﾖﾂ")
_ALLOWED = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ ()-./\\｢｣ﾞﾟ"
               "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝ")


def kana(text: str, length: int) -> bytes:
    """A name as the file takes it: half-width katakana (small ones made large),
    upper-case, cut to ``length`` bytes and space-filled."""
    half = jaconv.z2h(jaconv.hira2kata(text), kana=True, ascii=True, digit=True)
    half = half.upper().translate(_SMALL).replace("　", " ")
    kept = "".join(ch if ch in _ALLOWED else " " for ch in half)
    raw = kept.encode("cp932")[:length]
    return raw.ljust(length, b" ")


def number(value: int | str, length: int) -> bytes:
    text = str(value)
    if not text.isdigit() or len(text) > length:
        raise ValueError(f"{value!r} は{length}桁の数字に収まりません")
    return text.zfill(length).encode("ascii")


@dataclass(frozen=True)
class Consignor:
    """The municipality as 委託者, and the account the debits are paid into."""

    code: str  # 委託者コード, 10 digits, given by the bank
    name: str  # 委託者名 (カナ)
    bank_code: str
    bank_name: str
    branch_code: str
    branch_name: str
    account_type: int
    account_no: str


@dataclass(frozen=True)
class Debit:
    """One data record: whose account, how much, and our number for it."""

    bank_code: str
    branch_code: str
    account_type: int
    account_no: str
    holder: str
    amount: int
    customer_no: int
    first: bool = False
    result: int = 0


def request_file(consignor: Consignor, on: date, debits: list[Debit], *,
                 results: bool = False, newline: bool = True) -> bytes:
    """The 口座振替 file for one 引落日: the request (every result 0, the trailer's
    振替済・振替不能 zero) or, as a bank returns it, with the results (``results``)."""
    end = b"\r\n" if newline else b""
    header = (b"1" + KIND.encode() + b"0" + number(consignor.code, 10)
              + kana(consignor.name, 40) + number(on.strftime("%m%d"), 4)
              + number(consignor.bank_code, 4) + kana(consignor.bank_name, 15)
              + number(consignor.branch_code, 3) + kana(consignor.branch_name, 15)
              + number(consignor.account_type, 1) + number(consignor.account_no, 7)
              + b" " * 17)
    records = [header]
    for d in debits:
        records.append(
            b"2" + number(d.bank_code, 4) + b" " * 15 + number(d.branch_code, 3)
            + b" " * 15 + b" " * 4 + number(d.account_type, 1) + number(d.account_no, 7)
            + kana(d.holder, 30) + number(d.amount, 10) + (b"1" if d.first else b"0")
            + number(d.customer_no, 20) + number(d.result if results else 0, 1) + b" " * 8)
    done = [d for d in debits if results and d.result == 0]
    failed = [d for d in debits if results and d.result != 0]
    records.append(
        b"8" + number(len(debits), 6) + number(sum(d.amount for d in debits), 12)
        + number(len(done), 6) + number(sum(d.amount for d in done), 12)
        + number(len(failed), 6) + number(sum(d.amount for d in failed), 12) + b" " * 65)
    records.append(b"9" + b" " * 119)
    assert all(len(r) == RECORD for r in records)
    return b"".join(r + end for r in records)


@dataclass(frozen=True)
class ResultFile:
    consignor_code: str
    month_day: str  # 引落日 MMDD
    debits: list[Debit]


def _records(name: str, content: bytes) -> list[bytes]:
    if b"\r\n" in content:
        parts = content.split(b"\r\n")
        return parts[:-1] if parts[-1] == b"" else parts
    return [content[i:i + RECORD] for i in range(0, len(content), RECORD)]


def _digits(raw: bytes, where: str, label: str, problems: list[FieldProblem]) -> int:
    if not raw.isdigit():
        problems.append(FieldProblem(where, f"{label} が数字ではありません ({raw!r})"))
        return 0
    return int(raw)


def read_results(name: str, content: bytes) -> ResultFile:
    """A bank's 振替結果 file, checked whole: each record 120 bytes and of its kind in
    order, numbers where numbers belong, the trailer's counts and sums those of the data;
    every problem named ``FILE:record``."""
    records = _records(name, content)
    problems: list[FieldProblem] = []
    for i, rec in enumerate(records, start=1):
        if len(rec) != RECORD:
            problems.append(FieldProblem(f"{name}:{i}", f"レコード長が{len(rec)}バイトです "
                                                        f"({RECORD}バイトのはず)"))
    if problems:
        raise invalid(problems[:100])
    if len(records) < 3 or records[0][:1] != b"1" or records[-1][:1] != b"9" \
            or records[-2][:1] != b"8":
        raise InvalidInput(f"{name}: ヘッダー・トレーラ・エンドのレコードがそろっていません",
                           field="file")
    header = records[0]
    if header[1:3] != KIND.encode():
        raise InvalidInput(f"{name}:1: 種別コードが {header[1:3].decode('cp932', 'replace')} "
                           f"です (口座振替は {KIND})", field="file")
    debits = []
    for i, rec in enumerate(records[1:-2], start=2):
        where = f"{name}:{i}"
        if rec[:1] != b"2":
            problems.append(FieldProblem(where, "データ・レコード (区分2) ではありません"))
            continue
        amount = _digits(rec[80:90], where, "引落金額", problems)
        customer = _digits(rec[91:111], where, "顧客番号", problems)
        result = _digits(rec[111:112], where, "振替結果コード", problems)
        if result not in RESULTS:
            problems.append(FieldProblem(where, f"振替結果コード {result} は規定にありません"))
        debits.append(Debit(
            bank_code=rec[1:5].decode("ascii", "replace"),
            branch_code=rec[20:23].decode("ascii", "replace"), account_type=rec[42] - 48,
            account_no=rec[43:50].decode("ascii", "replace"),
            holder=rec[50:80].decode("cp932", "replace").rstrip(), amount=amount,
            customer_no=customer, first=rec[90:91] == b"1", result=result))
    trailer = records[-2]
    where = f"{name}:{len(records) - 1}"
    figures = [_digits(trailer[a:b], where, label, problems) for a, b, label in (
        (1, 7, "合計件数"), (7, 19, "合計金額"), (19, 25, "振替済件数"), (25, 37, "振替済金額"),
        (37, 43, "振替不能件数"), (43, 55, "振替不能金額"))]
    done = [d for d in debits if d.result == 0]
    failed = [d for d in debits if d.result != 0]
    expected = [len(debits), sum(d.amount for d in debits), len(done),
                sum(d.amount for d in done), len(failed), sum(d.amount for d in failed)]
    if not problems and figures != expected:
        problems.append(FieldProblem(where, f"トレーラの件数・金額 {figures} がデータの "
                                            f"{expected} と合いません"))
    if problems:
        raise invalid(problems[:100])
    return ResultFile(consignor_code=header[4:14].decode("ascii"),
                      month_day=header[54:58].decode("ascii"), debits=debits)
