"""CSV cells a spreadsheet will not run: text starting with = + - @ tab or CR gets a leading apostrophe.

A prompt such as `=HYPERLINK(...)` opened from results.csv in Excel, LibreOffice or Google Sheets would
be a live formula (OWASP "CSV injection"). The apostrophe is the spreadsheets' own "this is text" mark.
Only results.csv is escaped: results.parquet, the SQLite store and `load_results` keep the raw values.
"""

from __future__ import annotations

from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: Any) -> Any:
    """The value as a spreadsheet shows it as text; anything but a triggering string is unchanged."""
    return "'" + value if isinstance(value, str) and value.startswith(TRIGGERS) else value


def escape_frame(frame):
    """A copy of a pandas DataFrame with every text cell escaped (numbers stay numbers)."""
    out = frame.copy()
    for name in out.columns:
        if out[name].dtype == object:
            out[name] = out[name].map(escape_cell)
    return out
