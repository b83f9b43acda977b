"""Failed cells, grouped by the first line of their error, for the end of `bench run`."""

from __future__ import annotations

from collections.abc import Iterable


def first_line(error: object) -> str:
    text = str(error or "no error message recorded").strip()
    return (text.splitlines() or ["no error message recorded"])[0][:200]


def failure_lines(rows: Iterable[dict], limit: int = 8) -> list[str]:
    """'N cell(s) failed:' then one line per distinct error: count, error, the samplers that hit it."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        if row.get("status") != "ok":
            groups.setdefault(first_line(row.get("error")), []).append(row)
    if not groups:
        return []
    total = sum(len(g) for g in groups.values())
    lines = [f"{total} cell(s) failed:"]
    for error, group in sorted(groups.items(), key=lambda kv: -len(kv[1]))[:limit]:
        samplers = sorted({str(r.get("sampler")) for r in group})
        shown = ", ".join(samplers[:4]) + (f" and {len(samplers) - 4} more" if len(samplers) > 4 else "")
        lines.append(f"  {len(group)} x {error}  [{shown}]")
    if len(groups) > limit:
        lines.append(f"  ... and {len(groups) - limit} other error(s)")
    return lines
