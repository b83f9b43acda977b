"""A markdown summary of a check, for a pull request comment or a GitHub Actions job summary.

Sections are capped (`MAX_ROWS`) so a large regression stays far below the job summary's size limit;
every user-controlled string (prompts, errors) is escaped for markdown tables.
"""

from __future__ import annotations

from bench.check.compare import Report
from bench.check.text import HEADER, environment_lines, heading, row, sections, summary_line

MAX_ROWS = 100


def escape(text: str) -> str:
    """Make text safe inside a markdown table cell: pipes, newlines, HTML and emphasis characters."""
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    for ch in "<>*_`[]":
        text = text.replace(ch, "\\" + ch)
    return text


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    return lines + ["| " + " | ".join(escape(c) for c in r) + " |" for r in rows]


def format_markdown(report: Report) -> str:
    icon = ":x:" if report.failed else ":white_check_mark:"
    lines = [
        f"### {icon} bench check: {'regression' if report.failed else 'no regression'}",
        "",
        f"**{escape(summary_line(report))}**",
        "",
        escape(heading(report)),
        "",
        "Tolerances: " + escape(", ".join(report.gate.describe())),
    ]
    if report.factor is not None:
        lines += ["", f"Times normalised by the machine factor x{report.factor:.3g}."]
    env = environment_lines(report)
    if env:
        lines += ["", "<details><summary>Environment differs</summary>", ""]
        lines += [f"- {escape(line)}" for line in env] + ["", "</details>"]
    for title, found in sections(report):
        lines += ["", f"#### {title} ({len(found)})", ""]
        lines += _table([row(f) for f in found[:MAX_ROWS]])
        if len(found) > MAX_ROWS:
            lines += ["", f"... and {len(found) - MAX_ROWS} more (see the console output or JUnit file)"]
    return "\n".join(lines) + "\n"
