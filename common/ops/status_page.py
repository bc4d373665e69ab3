"""The status command's HTML page: one self-contained file (inline CSS and SVG, no script, no
external asset), so it can be mailed, archived by CI or opened from a bucket as is.

Per table: rows over time (the snapshots' running total-records, a dot per commit, bars for
the records each commit added), up to now, so a stale table shows as a flat tail; its
freshness; then dead letters and consumer lag.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from common.durations import describe_seconds
from common.ops.table_status import TableStatus, describe_bytes

WIDTH, HEIGHT, PAD_L, PAD_R, PAD_T, PAD_B = 520, 130, 56, 12, 10, 34
CSS = """
body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#1d2330;background:#f6f7f9}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.meta{color:#5a6272;margin-bottom:16px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:12px}
.card{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:10px 14px}
.card h3{margin:0 0 6px;font-size:15px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;margin-left:8px}
.ok{background:#d9f2e1;color:#17633a}.stale{background:#fbdcdc;color:#9b1c1c}.unknown{background:#eceff3;color:#5a6272}
.facts{color:#3b4252;font-size:12px;margin-bottom:4px}.facts b{font-weight:600}
.fresh{display:inline-block;height:10px;border-radius:2px;vertical-align:middle}
table{border-collapse:collapse;background:#fff;border:1px solid #dde1e7}
th,td{padding:4px 10px;border-bottom:1px solid #eceff3;text-align:left;font-size:13px}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:inline-block;height:10px;background:#5b8def;border-radius:2px;vertical-align:middle}
svg text{font-size:11px;fill:#5a6272}
"""


def _iso(value: dt.datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%S") + "Z"


def _short(iso: str) -> str:
    """'2026-11-27T06:34:01.632Z' -> '2026-11-27 06:34:01Z'."""
    return iso[:19].replace("T", " ") + "Z"


def chart(status: TableStatus, now: dt.datetime) -> str:
    """Rows over time (step line), a dot per commit, bars of records added per commit."""
    commits = [c for c in status.history if c.total_records is not None]
    totals = [c.total_records for c in commits if c.total_records is not None]  # one per commit
    if not commits:
        return '<p class="facts">no commits yet</p>'
    now_ms = int(now.timestamp() * 1000)
    t0, t1 = commits[0].timestamp_ms, max(now_ms, commits[-1].timestamp_ms)
    if t1 - t0 < 60_000:
        t0 = t1 - 60_000
    top = max(max(totals), 1)
    most_added = max(max(c.added_records for c in commits), 1)
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B

    def x(ms: int) -> float:
        return PAD_L + (ms - t0) / (t1 - t0) * plot_w

    def y(rows: int) -> float:
        return PAD_T + plot_h - rows / top * plot_h

    parts = [
        f'<svg width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="rows of {escape(status.name)} over time">',
        f'<rect x="{PAD_L}" y="{PAD_T}" width="{plot_w}" height="{plot_h}" fill="#fafbfc" stroke="#dde1e7"/>',
    ]
    for c in commits:  # records added by each commit, as thin bars along the bottom quarter
        h = c.added_records / most_added * plot_h / 4
        parts.append(
            f'<rect x="{x(c.timestamp_ms) - 1:.1f}" y="{PAD_T + plot_h - h:.1f}" width="2" '
            f'height="{h:.1f}" fill="#c9d6f5"/>'
        )
    points, previous = [], None
    for c, total in zip(commits, totals):
        if previous is not None:
            points.append(f"{x(c.timestamp_ms):.1f},{y(previous):.1f}")
        points.append(f"{x(c.timestamp_ms):.1f},{y(total):.1f}")
        previous = total
    points.append(f"{x(t1):.1f},{y(totals[-1]):.1f}")  # flat until now: how long since the last commit
    parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#2f6fe4" stroke-width="2"/>')
    for c, total in zip(commits, totals):
        color = "#2f6fe4" if c.operation == "append" else "#8a93a3"
        parts.append(
            f'<circle cx="{x(c.timestamp_ms):.1f}" cy="{y(total):.1f}" r="3" fill="{color}">'
            f"<title>{_iso(dt.datetime.fromtimestamp(c.timestamp_ms / 1000, dt.timezone.utc))} "
            f"{escape(c.operation)}: {c.total_records} rows (+{c.added_records})</title></circle>"
        )
    first = dt.datetime.fromtimestamp(t0 / 1000, dt.timezone.utc)
    parts += [
        f'<text x="{PAD_L - 6}" y="{PAD_T + 10}" text-anchor="end">{top:,}</text>',
        f'<text x="{PAD_L - 6}" y="{PAD_T + plot_h}" text-anchor="end">0</text>',
        f'<text x="{PAD_L}" y="{HEIGHT - 14}">{_iso(first)}</text>',
        f'<text x="{PAD_L + plot_w}" y="{HEIGHT - 14}" text-anchor="end">now {_iso(now)}</text>',
        f'<text x="{PAD_L + plot_w / 2}" y="{HEIGHT - 2}" text-anchor="middle">'
        f"rows (line), commits (dots), records added per commit (bars)</text>",
        "</svg>",
    ]
    return "".join(parts)


def _state(table: dict[str, Any]) -> tuple[str, str]:
    if table["error"]:
        return ("unknown", "unreadable") if table["exists"] else ("stale", "missing")
    return ("stale", "STALE") if table["stale"] else ("ok", "fresh")


def overview(report: dict[str, Any]) -> str:
    """One row per table: the figures, and the age of its last commit as a bar against the threshold."""
    limit = max(report["max_staleness_s"], 1.0)
    rows = [
        "<table><tr><th>table</th><th>state</th><th>rows</th><th>snapshots</th><th>data files</th>"
        "<th>mean file</th><th>last commit</th><th>age (bar: of the staleness limit)</th>"
        "<th>newest event age</th></tr>"
    ]
    for t in report["tables"]:
        kind, label = _state(t)
        age = t["commit_age_s"]
        width = 0 if age is None else min(age / limit, 1.0) * 120
        color = "#d64545" if t["stale"] else "#3aa76d"
        when = (
            _short(t["last_commit"])
            if t["last_commit"]
            else f"created {_short(t['created'])}"
            if t.get("created")
            else "-"
        )
        rows.append(
            f'<tr><td>{escape(t["name"])}</td><td><span class="badge {kind}">{label}</span></td>'
            f'<td class="n">{"-" if t["rows"] is None else format(t["rows"], ",")}</td>'
            f'<td class="n">{t["snapshots"]}</td><td class="n">{"-" if t["data_files"] is None else t["data_files"]}</td>'
            f'<td class="n">{describe_bytes(t["mean_file_bytes"])}</td><td>{escape(when)}</td>'
            f'<td><span class="fresh" style="width:{width:.0f}px;background:{color}"></span> {describe_seconds(age)}</td>'
            f'<td class="n">{describe_seconds(t["event_age_s"])}</td></tr>'
        )
    rows.append("</table>")
    return "".join(rows)


def event_time_section(event: dict[str, Any] | None) -> str:
    """Each topic's watermark and idleness, and the topic each windowed pipeline waits for."""
    if not event or event["skipped"]:
        return "<h2>Event time</h2><p>not asked (no --flink and no flink.rest.port)</p>"
    if event["error"] or event["job"] is None:
        return f"<h2>Event time</h2><p>{escape(str(event['error'] or 'no running job'))}</p>"
    out = [
        f"<h2>Event time (job {escape(event['job'])})</h2><table><tr><th>topic</th><th>watermark</th>"
        "<th>partitions</th><th>idle</th><th>nothing written for</th><th>state</th></tr>"
    ]
    for t in event["topics"]:
        state = "released" if t["released"] else "quiet" if t["quiet"] else "reading"
        out.append(
            f"<tr><td>{escape(t['topic'])}</td><td>{escape(t['watermark'] or '-')}</td>"
            f'<td class="n">{t["partitions"]}</td><td class="n">{t["idle_partitions"]}</td>'
            f'<td class="n">{describe_seconds(t["quiet_s"])}</td><td>{state}</td></tr>'
        )
    out.append("</table><ul>" + "".join(f"<li>{escape(w['reason'])}</li>" for w in event["windows"]) + "</ul>")
    return "".join(out)


def render(report: dict[str, Any], statuses: list[TableStatus], now: dt.datetime) -> str:
    """The page for one status report (the same dict --json prints) and its tables' history."""
    by_name = {s.name: s for s in statuses}
    out = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f"<title>Pipeline status {_iso(now)}</title><style>{CSS}</style></head><body>",
        "<h1>Pipeline status</h1>",
        f'<div class="meta">at {_iso(now)} · catalog {escape(str(report["catalog"]["type"]))} '
        f"{escape(str(report['catalog']['warehouse']))} · namespace {escape(str(report['catalog']['namespace']))}"
        f" · stale when the last commit is older than {describe_seconds(report['max_staleness_s'])}</div>",
    ]
    out.append("<h2>Tables</h2>" + overview(report))
    out.append('<h2>Rows and commits over time</h2><div class="grid">')
    for table in report["tables"]:
        status = by_name[table["name"]]
        kind, label = _state(table)
        out.append(f'<div class="card"><h3>{escape(table["name"])}<span class="badge {kind}">{label}</span></h3>')
        if table["error"]:
            out.append(f'<div class="facts">{escape(table["error"])}</div></div>')
            continue
        column = table["event_time_column"] or "-"
        newest = (
            f"newest {escape(column)} {_iso(status.newest_event_time)} ({describe_seconds(table['event_age_s'])} ago)"
            if status.newest_event_time
            else f"no {escape(column)} yet"
        )
        out.append(
            f'<div class="facts"><b>{table["rows"]:,}</b> rows · <b>{table["snapshots"]}</b> snapshots · '
            f"<b>{table['data_files']}</b> data files, mean {describe_bytes(table['mean_file_bytes'])} · {newest}</div>"
        )
        out.append(chart(status, now) + "</div>")
    out.append("</div>")

    letters = report["dead_letters"]
    out.append(f"<h2>Dead letters written since {escape(letters['since'])}: {letters.get('total', '-')}</h2>")
    if letters.get("error"):
        out.append(f"<p>{escape(letters['error'])}</p>")
    elif letters["by_topic_reason"]:
        most = max(r["count"] for r in letters["by_topic_reason"])
        out.append("<table><tr><th>topic</th><th>reason</th><th>records</th><th></th></tr>")
        for r in letters["by_topic_reason"]:
            out.append(
                f'<tr><td>{escape(r["topic"])}</td><td>{escape(r["reason"])}</td><td class="n">{r["count"]:,}'
                f'</td><td><span class="bar" style="width:{max(2, 160 * r["count"] / most):.0f}px"></span>'
                "</td></tr>"
            )
        out.append("</table>")

    out.append(event_time_section(report.get("event_time")))
    lag = report["lag"]
    out.append("<h2>Consumer lag (high watermark − committed offset)</h2>")
    if lag.get("error"):
        out.append(f"<p>{escape(lag['error'])}</p>")
    elif lag.get("partitions"):
        most = max([p["lag"] or 0 for p in lag["partitions"]] + [1])
        out.append(
            "<table><tr><th>topic</th><th>group</th><th>partition</th><th>committed</th>"
            "<th>high watermark</th><th>lag</th><th></th></tr>"
        )
        for p in lag["partitions"]:
            committed = "-" if p["committed"] is None else f"{p['committed']:,}"
            value = "-" if p["lag"] is None else f"{p['lag']:,}"
            width = 0 if not p["lag"] else max(2, 160 * p["lag"] / most)
            out.append(
                f'<tr><td>{escape(p["topic"])}</td><td>{escape(p["group"])}</td><td class="n">{p["partition"]}'
                f'</td><td class="n">{committed}</td><td class="n">{p["high_watermark"]:,}</td>'
                f'<td class="n">{value}</td><td><span class="bar" style="width:{width:.0f}px"></span></td></tr>'
            )
        out.append("</table>")
    else:
        out.append("<p>not asked (--no-lag)</p>")
    out.append("</body></html>\n")
    return "".join(out)
