"""The reports as CSV: one long table per report with stable columns (README, "Reports"), and the
reconciliation export. Amounts are plain decimals, times ISO 8601 UTC; every cell goes through
neolight.csvsafe, so text that a spreadsheet would run as a formula is shown as text."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime

from neolight.csvsafe import csv_row
from neolight.formats import cents, plain

from .data import Report
from .reconciliation import Reconciliation

REPORT_COLUMNS = ["section", "period", "at", "cohort", "agent", "item", "value", "detail"]
RECONCILIATION_COLUMNS = ["row", "cohort", "cohort_tag", "agent", "family", "fill", "ts", "symbol", "side", "qty",
                          "price", "fee", "realised_pnl", "net_pnl", "transaction"]


def report_csv(report: Report) -> bytes:
    """The report as CSV (UTF-8), one line per figure."""
    return _write(REPORT_COLUMNS, ([section, report.period, *rest] for section, *rest in _report_rows(report)))


def reconciliation_csv(recon: Reconciliation) -> bytes:
    """Every fill, then each agent's totals, then each cohort's ledger settlement (its net is settled − drawn)."""
    return _write(RECONCILIATION_COLUMNS, _reconciliation_rows(recon))


def _write(columns: list[str], rows: Iterable[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(csv_row(row))
    return buffer.getvalue().encode()


def _at(value: datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else ""


def _report_rows(r: Report) -> Iterator[list]:  # noqa: C901 (one branch per section, in the README's order)
    yield ["report", _at(r.generated_at), "", "", "title", r.kind, r.title]
    yield ["report", _at(r.start), "", "", "period_start", "", ""]
    yield ["report", _at(r.end), "", "", "period_end", "", ""]
    if r.is_empty:
        yield ["report", "", "", "", "empty", "", "Nothing traded or was decided in this period."]
    for c in r.cohorts:
        for item in ("bankroll", "final_equity", "pnl"):
            yield ["cohort", _at(c["start"]), c["id"], "", item, cents(c[item]), c["tag"]]
        yield ["cohort", _at(c["start"]), c["id"], "", "roi", plain(c["roi"]), c["status"]]
    for h in r.hours:
        yield ["hour", _at(h["hour"]), "", "", "pnl", cents(h["pnl"]), ""]
        yield ["hour", _at(h["hour"]), "", "", "fills", h["fills"], ""]
        yield ["hour", _at(h["hour"]), "", "", "equity", cents(h["equity"]), ""]
    for a in r.leaderboard:
        detail = f"rank {a['rank']}; {a['family']}"
        yield ["leaderboard", "", a["cohort"], a["agent"], "roi", plain(a["roi"]), detail]
        yield ["leaderboard", "", a["cohort"], a["agent"], "sharpe", plain(a["sharpe"]), detail]
        yield ["leaderboard", "", a["cohort"], a["agent"], "pnl", cents(a["pnl"]), detail]
        yield ["leaderboard", "", a["cohort"], a["agent"], "trades", a["trades"], detail]
    for d in r.leverage:
        yield ["leverage", _at(d["at"]), d["cohort"] or "", "", d["subject"], plain(d["to_tier"]),
               f"{plain(d['from_tier'])}x to {plain(d['to_tier'])}x ({d['rule']}, {d['status']}, by {d['actor']}): "
               f"{d['rationale']}"]
    for b in r.bankroll:
        yield ["bankroll", _at(b["at"]), b["cohort"], "", b["bankroll"], cents(b["balance"]),
               f"drawn {cents(b['drawn'])}; settled {cents(b['settled'])}; pnl {cents(b['pnl'])}"]
    for a in r.approvals:
        yield ["approval", _at(a["at"]), a["cohort"], a["agent"], f"request {a['id']}", a["status"],
               f"requested by {a['requested_by']}; allocation {a['allocation']}"]
        for s in a["signatures"]:
            yield ["signature", _at(s["at"]), a["cohort"], a["agent"], f"request {a['id']} step {s['step']}",
                   s["decision"], f"{s['role']}: {s['signer']}; hash {s['hash']}; {s['note']}"]
    for n in r.compliance:
        yield ["compliance", "", n["cohort"], "", "note", "", n["line"]]
    for e in r.commentary:
        yield ["commentary", _at(e["at"]), e["cohort"] or "", "", "narration", "", e["title"]]
    for e in r.post_mortems:
        yield ["post_mortem", _at(e["at"]), e["cohort"] or "", "", e["title"], "", e["body"]]


def _reconciliation_rows(recon: Reconciliation) -> Iterator[list]:
    for f in recon.fills:
        yield ["fill", f["cohort"], f["tag"], f["agent"], f["family"], f["fill"], _at(f["ts"]), f["symbol"], f["side"],
               plain(f["qty"]), plain(f["price"]), plain(f["fee"]), plain(f["realised"]), plain(f["net"]),
               f["transaction"]]
    for c in recon.cohorts:
        for a in c.agents:
            yield ["agent", c.cohort, c.tag, a.agent, a.family, a.fills, "", "", "", "", "", plain(a.fees),
                   plain(a.realised), plain(a.net), ""]
    for c in recon.cohorts:
        fees = sum((a.fees for a in c.agents), 0)
        realised = sum((a.realised for a in c.agents), 0)
        yield ["cohort", c.cohort, c.tag, "", "", sum(a.fills for a in c.agents), "", "", "", "", "",
               plain(fees), plain(realised), plain(c.ledger_pnl), f"settlement: settled minus drawn ({c.status})"]
