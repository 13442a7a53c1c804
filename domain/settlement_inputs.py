"""The hand-kept inputs of the monthly settlement (domain-rules.md §5), read from the .csv or
.xlsx files the operations manager and finance keep, into checked DataFrames.

These figures decide people's pay, so nothing is guessed: every row is checked and a file
with mistakes is refused as a whole, with one :class:`SettlementInputError` that lists
*every* problem as ``file: row N, column C: reason`` (N counted as Excel shows it: the header
is row 1), so the person who keeps the file fixes it in one pass.

Common rules for every file: those of every hand-kept input, :mod:`domain.input_files`
    * The first row is the header; the English names below are the documented ones, and the
      Chinese name in brackets is accepted too (``shopops templates`` writes them). Column
      order does not matter; unknown columns are ignored (exports carry many).
    * CSV in UTF-8 (with or without BOM) or GBK/GB18030, as Chinese Excel saves it; .xlsx with
      one sheet of data. Empty rows are skipped.
    * ``month`` is ``YYYY-MM`` (or ``YYYY/MM``, ``YYYY年M月``; an Excel cell that turned it into
      the 1st of the month is accepted); dates ``YYYY-MM-DD`` or ``YYYY/MM/DD``.
    * Money is in yuan with at most 2 decimals (``12345.67``, ``¥12,345.67``); it becomes
      integer fen through :class:`~decimal.Decimal`, never float arithmetic. A third decimal
      is an error, not a rounding; ``12,00`` and ``1e5`` are refused as ambiguous.
    * Roles, scopes and channels may be written in Chinese (客服, 店铺, 分销 …).

The files
    **Staff roster** (人员名单), one row per person: ``person_id`` (工号), ``name`` (姓名),
    ``role`` (岗位: ``manager`` | ``operations`` | ``customer_service``), ``shops`` (负责店铺:
    shop ids separated by ``;``), ``shares`` (分成比例, optional: one share per listed shop,
    ``;``-separated, only for operations staff), ``joined`` (入职日期), ``left`` (离职日期,
    empty while employed). A manager's revenue is every shop's, so a manager lists no shops;
    customer-service staff list the shops they serve (their gross-margin component). When
    several operations people run one shop either all of them give a share or none does
    (then it is split equally); the shares of the people on the roster at the same time must
    sum to exactly 1.

    **Monthly targets** (月度目标): ``month`` (月份), ``scope`` (范围: ``shop`` | ``person``),
    ``id`` (店铺/工号), ``target`` (目标金额, yuan, above 0). A shop needs a target in every
    month it is settled; a personal target overrides the shops' for that person (and is
    required for customer service).

    **Monthly expenses** (月度费用): ``month`` (月份), ``shop`` (店铺), ``category`` (费用类别;
    ``marketing`` is the promotion spend 推广费 that store ROI is measured against),
    ``amount`` (金额, yuan, 0 or more). One row per shop, month and category.

    **Customer-service stats** (客服数据), as the platform's customer-service report exports
    them: ``month`` (月份), ``person`` (客服工号), ``conversations`` (接待人数),
    ``avg_response_seconds`` (平均响应时间(秒), may be empty), ``conversion_rate`` (询单转化率,
    ``35.2%`` or ``0.352``), ``attributed_sales`` (询单转化销售额, yuan), ``attributed_cost``
    (询单转化销售成本, yuan, optional: the unit cost of the goods of those sales — a person's
    gross margin is on their attributed sales; without it the margin of the shops they serve
    is used, and the statement says so). One row per person and month.

    **Shop channels** (店铺渠道): ``shop`` (店铺), ``channel`` (渠道: ``own`` for the
    flagship and C-stores 自营旗舰店/C店, ``distribution`` for distribution shops 分销专营店).
    The manager's two target components are measured on these two groups.

    **Shop stats** (店铺数据, optional: the store KPIs leave conversion rate and DSR empty
    without it), as the back-office's shop report exports them: ``month`` (月份), ``shop``
    (店铺), ``visitors`` (访客数, unique visitors of the month), ``dsr`` (DSR, the platform's
    detailed seller rating, 0–5, may be empty). One row per shop and month.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pandas as pd

from domain.input_files import (REASONS, Column, InputFile, InputFileError, InputProblem, Reason, count, day, money,
                                month, number, one_of, positive_money, rate, text)

ROLES = ("manager", "operations", "customer_service")
TARGET_SCOPES = ("shop", "person")
CHANNELS = ("own", "distribution")
#: the Chinese names staff write instead (岗位, 范围, 渠道), accepted as well
ROLE_NAMES = {"店长": "manager", "运营经理": "manager", "经理": "manager", "运营": "operations",
              "运营专员": "operations", "客服": "customer_service", "客服专员": "customer_service"}
SCOPE_NAMES = {"店铺": "shop", "个人": "person", "人员": "person"}
CHANNEL_NAMES = {"自营": "own", "自营旗舰店": "own", "旗舰店": "own", "C店": "own", "分销": "distribution",
                 "分销专营店": "distribution", "专营店": "distribution"}
LIST_SEPARATORS = re.compile(r"[;；]")

SHOP_STATS_FRAME_COLUMNS = ["month", "shop_id", "visitors", "dsr"]
#: the platforms' detailed seller rating runs from 0 to 5
DSR_MAX = Decimal(5)


#: the English of this module's reasons (their Chinese: shopops/i18n.py, same keys)
REASONS.update({
    "in_st_problems": "The settlement input files have {n} problem(s):",
    "in_st_negative": "{value!r} is negative",
    "in_st_left_before_joined": "left {left} is before joined {joined}",
    "in_st_manager_shops": "a manager's revenue is every shop's: leave shops empty",
    "in_st_operations_no_shops": "operations staff need the shops they run (shops, separated by ;)",
    "in_st_shares_not_operations": "shares split a shop between operations staff; leave them empty for this role",
    "in_st_shares_count": "{shares} share(s) for {shops} shop(s); give one share per shop",
    "in_st_share_range": "{value} for shop {shop} is not above 0 and at most 1",
    "in_st_shares_partial": "shop {shop}: shares are given for some of its operations staff but not in row(s) "
                            "{rows}; give them for all or for none (equal split)",
    "in_st_shares_sum": "shop {shop}: shares on {day} sum to {total} ({parts}), must sum to 1",
    "in_st_not_dsr": "{value!r} is not a rating between 0 and {top}",
    "in_st_not_on_roster": "person {person} is not on the staff roster",
    "in_st_cs_not_on_roster": "person {person} is not on the staff roster, not customer_service",
    "in_st_cs_other_role": "person {person} is on the roster as {role}, not customer_service",
})


class SettlementInputError(InputFileError):
    """Every problem of the input files at once, so they can all be fixed in one pass."""

    def __init__(self, problems: list[InputProblem]):
        super().__init__(problems, Reason("in_st_problems", n=len(problems)))


@dataclass(frozen=True)
class SettlementInputs:
    """The hand-kept inputs, as the loaders return them (one frame per warehouse table).

    - ``staff``: person_id, name, role, joined_on (date), left_on (date or None)
    - ``assignments``: person_id, shop_id, share (Decimal, or None = equal split)
    - ``targets``: month, scope, scope_id, target_minor (int fen)
    - ``expenses``: month, shop_id, category, amount_minor
    - ``cs_stats``: month, person_id, conversations, avg_response_s (float or None),
      conversion_rate (Decimal or None), attributed_sales_minor, attributed_cost_minor (int or None)
    - ``shop_channels``: shop_id, channel
    - ``shop_stats``: month, shop_id, visitors, dsr (Decimal or None) — empty without the file
    """

    staff: pd.DataFrame
    assignments: pd.DataFrame
    targets: pd.DataFrame
    expenses: pd.DataFrame
    cs_stats: pd.DataFrame
    shop_channels: pd.DataFrame
    shop_stats: pd.DataFrame = field(default_factory=lambda: _frame([], SHOP_STATS_FRAME_COLUMNS))


# --- value parsers (domain.input_files, shared by every loader) ----------------------------

def _seconds(value: object) -> float:
    seconds = number(str(value).removesuffix("秒").removesuffix("s"))
    if seconds < 0:
        raise Reason("in_st_negative", value=value)
    return float(seconds)


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """Object columns keep Decimals, ints and dates exactly as parsed."""
    return pd.DataFrame(rows, columns=columns, dtype=object)


# --- the loaders --------------------------------------------------------------------------

def _split_list(value: object) -> list[str]:
    return [part.strip() for part in LIST_SEPARATORS.split(str(value)) if part.strip()]


ROSTER_COLUMNS = [
    Column("person_id", "工号", text), Column("name", "姓名", text), Column("role", "岗位", one_of(ROLES, ROLE_NAMES)),
    Column("shops", "负责店铺", _split_list, optional=True), Column("shares", "分成比例", _split_list, optional=True),
    Column("joined", "入职日期", day), Column("left", "离职日期", day, optional=True),
]


def _read_roster(reader: InputFile) -> tuple[pd.DataFrame, pd.DataFrame]:
    staff, assignments, persons = [], [], {}
    members_of_shop: dict[str, list[tuple[int, dict, Decimal | None]]] = {}
    for row_no, r in reader.records(ROSTER_COLUMNS):
        persons[row_no] = (r["person_id"],)
        shops, shares = r["shops"] or [], r["shares"] or []
        if r["left"] is not None and r["left"] < r["joined"]:
            reader.problem(row_no, Reason("in_st_left_before_joined", left=r["left"], joined=r["joined"]), "left")
        if r["role"] == "manager" and shops:
            reader.problem(row_no, Reason("in_st_manager_shops"), "shops")
        if r["role"] == "operations" and not shops:
            reader.problem(row_no, Reason("in_st_operations_no_shops"), "shops")
        if shares and r["role"] != "operations":
            reader.problem(row_no, Reason("in_st_shares_not_operations"), "shares")
        if shares and len(shares) != len(shops):
            reader.problem(row_no, Reason("in_st_shares_count", shares=len(shares), shops=len(shops)), "shares")
            continue
        parsed_shares: list[Decimal | None] = [None] * len(shops)
        shares_readable = True
        for i, written in enumerate(shares):
            try:
                parsed_shares[i] = number(written)
            except ValueError as exc:
                reader.problem(row_no, exc, "shares")
                shares_readable = False
                continue
            if not 0 < parsed_shares[i] <= 1:
                reader.problem(row_no, Reason("in_st_share_range", value=written, shop=shops[i]), "shares")
        staff.append(dict(person_id=r["person_id"], name=r["name"], role=r["role"], joined_on=r["joined"],
                          left_on=r["left"]))
        for shop, share in zip(shops, parsed_shares):
            assignments.append(dict(person_id=r["person_id"], shop_id=shop, share=share))
            if r["role"] == "operations" and shares_readable:  # an unreadable share is reported once
                members_of_shop.setdefault(shop, []).append((row_no, r, share))
    reader.refuse_duplicates(persons, ("person_id",))
    for shop, members in members_of_shop.items():
        _check_shares(reader, shop, members)
    return (_frame(staff, ["person_id", "name", "role", "joined_on", "left_on"]),
            _frame(assignments, ["person_id", "shop_id", "share"]))


def _check_shares(reader: InputFile, shop: str, members: list[tuple[int, dict, Decimal | None]]) -> None:
    """Shares must sum to 1 among the people running the shop *at the same time*: a
    replacement takes over a leaver's share, so the check runs at every member's start."""
    given = [m for m in members if m[2] is not None]
    if not given:
        return
    if len(given) != len(members):
        rows = ", ".join(str(m[0]) for m in members if m[2] is None)
        reader.problem(members[0][0], Reason("in_st_shares_partial", shop=shop, rows=rows), "shares")
        return
    reported: set[tuple[int, ...]] = set()
    for _, starter, _ in members:
        day = starter["joined"]
        active = [m for m in members if m[1]["joined"] <= day and (m[1]["left"] is None or m[1]["left"] >= day)]
        total = sum(m[2] for m in active)
        rows = tuple(m[0] for m in active)
        if total != 1 and rows not in reported:
            reported.add(rows)
            parts = ", ".join(f"{m[1]['person_id']} {m[2]}" for m in active)
            reader.problem(rows[-1], Reason("in_st_shares_sum", shop=shop, day=day, total=total, parts=parts), "shares")


TARGET_COLUMNS = [Column("month", "月份", month), Column("scope", "范围", one_of(TARGET_SCOPES, SCOPE_NAMES)),
                  Column("id", "店铺/工号", text), Column("target", "目标金额", positive_money)]


def _read_targets(reader: InputFile) -> tuple[pd.DataFrame, dict[int, dict]]:
    rows = dict(reader.records(TARGET_COLUMNS))
    reader.refuse_duplicates({n: (r["month"], r["scope"], r["id"]) for n, r in rows.items()}, ("month", "scope", "id"))
    frame = _frame([dict(month=r["month"], scope=r["scope"], scope_id=r["id"], target_minor=r["target"])
                    for r in rows.values()], ["month", "scope", "scope_id", "target_minor"])
    return frame, rows


EXPENSE_COLUMNS = [Column("month", "月份", month), Column("shop", "店铺", text), Column("category", "费用类别", text),
                   Column("amount", "金额", money)]


def _read_expenses(reader: InputFile) -> pd.DataFrame:
    rows = dict(reader.records(EXPENSE_COLUMNS))
    reader.refuse_duplicates({n: (r["month"], r["shop"], r["category"]) for n, r in rows.items()},
                             ("month", "shop", "category"))
    return _frame([dict(month=r["month"], shop_id=r["shop"], category=r["category"], amount_minor=r["amount"])
                   for r in rows.values()], ["month", "shop_id", "category", "amount_minor"])


CS_COLUMNS = [
    Column("month", "月份", month), Column("person", "客服工号", text), Column("conversations", "接待人数", count),
    Column("avg_response_seconds", "平均响应时间(秒)", _seconds, optional=True),
    Column("conversion_rate", "询单转化率", rate, optional=True),
    Column("attributed_sales", "询单转化销售额", money),
    Column("attributed_cost", "询单转化销售成本", money, optional=True),
]


def _read_cs_stats(reader: InputFile) -> tuple[pd.DataFrame, dict[int, dict]]:
    rows = dict(reader.records(CS_COLUMNS))
    reader.refuse_duplicates({n: (r["month"], r["person"]) for n, r in rows.items()}, ("month", "person"))
    frame = _frame([dict(month=r["month"], person_id=r["person"], conversations=r["conversations"],
                         avg_response_s=r["avg_response_seconds"], conversion_rate=r["conversion_rate"],
                         attributed_sales_minor=r["attributed_sales"], attributed_cost_minor=r["attributed_cost"])
                    for r in rows.values()],
                   ["month", "person_id", "conversations", "avg_response_s", "conversion_rate",
                    "attributed_sales_minor", "attributed_cost_minor"])
    return frame, rows


CHANNEL_COLUMNS = [Column("shop", "店铺", text), Column("channel", "渠道", one_of(CHANNELS, CHANNEL_NAMES))]


def _read_shop_channels(reader: InputFile) -> pd.DataFrame:
    rows = dict(reader.records(CHANNEL_COLUMNS))
    reader.refuse_duplicates({n: (r["shop"],) for n, r in rows.items()}, ("shop",))
    return _frame([dict(shop_id=r["shop"], channel=r["channel"]) for r in rows.values()], ["shop_id", "channel"])


def _dsr(value: object) -> Decimal:
    rating = number(value)
    if not 0 <= rating <= DSR_MAX:
        raise Reason("in_st_not_dsr", value=value, top=DSR_MAX)
    return rating


SHOP_STATS_COLUMNS = [Column("month", "月份", month), Column("shop", "店铺", text),
                      Column("visitors", "访客数", count), Column("dsr", "DSR", _dsr, optional=True)]


def _read_shop_stats(reader: InputFile) -> pd.DataFrame:
    rows = dict(reader.records(SHOP_STATS_COLUMNS))
    reader.refuse_duplicates({n: (r["month"], r["shop"]) for n, r in rows.items()}, ("month", "shop"))
    return _frame([dict(month=r["month"], shop_id=r["shop"], visitors=r["visitors"], dsr=r["dsr"])
                   for r in rows.values()], SHOP_STATS_FRAME_COLUMNS)


def load_inputs(*, roster: Path | str, targets: Path | str, expenses: Path | str, cs_stats: Path | str,
                shop_channels: Path | str, shop_stats: Path | str | None = None) -> SettlementInputs:
    """Read and check the five files (and the optional shop stats), including what one file
    says about another (a personal target or customer-service row for someone not on the
    roster); raise one :class:`SettlementInputError` with every problem of every file."""
    paths = dict(roster=roster, targets=targets, expenses=expenses, cs_stats=cs_stats, shop_channels=shop_channels)
    if shop_stats is not None:
        paths["shop_stats"] = shop_stats
    readers = {name: InputFile(Path(path)) for name, path in paths.items()}
    staff, assignments = _read_roster(readers["roster"])
    target_frame, target_rows = _read_targets(readers["targets"])
    cs_frame, cs_rows = _read_cs_stats(readers["cs_stats"])
    inputs = SettlementInputs(staff=staff, assignments=assignments, targets=target_frame,
                              expenses=_read_expenses(readers["expenses"]), cs_stats=cs_frame,
                              shop_channels=_read_shop_channels(readers["shop_channels"]),
                              **({"shop_stats": _read_shop_stats(readers["shop_stats"])} if "shop_stats" in readers
                                 else {}))
    if not readers["roster"].problems:
        role_of = dict(zip(staff["person_id"], staff["role"]))
        for row_no, r in target_rows.items():
            if r["scope"] == "person" and r["id"] not in role_of:
                readers["targets"].problem(row_no, Reason("in_st_not_on_roster", person=r["id"]), "id")
        for row_no, r in cs_rows.items():
            if role_of.get(r["person"]) != "customer_service":
                why = Reason("in_st_cs_not_on_roster", person=r["person"]) if r["person"] not in role_of else \
                    Reason("in_st_cs_other_role", person=r["person"], role=role_of[r["person"]])
                readers["cs_stats"].problem(row_no, why, "person")
    problems = [p for reader in readers.values() for p in sorted(reader.problems, key=lambda p: p.row or 0)]
    if problems:
        raise SettlementInputError(problems)
    return inputs
