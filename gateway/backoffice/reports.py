"""A committee's quarterly report (storage.quarterly) as HTML and as PDF, for the console's
page and download and for `sauti report quarterly`.

The HTML is one self-contained page (no script, no outside resource, no inline style, so
the console's content security policy holds when it is shown there). The PDF is drawn with
fpdf2's built-in Helvetica, which covers Latin-1: any other character is written as "?".
Both say the same things, from structured figures only.
"""

from __future__ import annotations

from datetime import timedelta

from fpdf import FPDF
from jinja2 import Environment

from gateway.backoffice.dashboards import CATEGORY_LABELS
from storage.performance import Raw
from storage.quarterly import QuarterlyReport

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_HTML = _ENV.from_string(
    """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
{% if stylesheet %}<link rel="stylesheet" href="{{ stylesheet }}">{% endif %}
</head>
<body>
<main class="report">
<h1>{{ title }}</h1>
<p>{{ subtitle }}</p>
<p>{{ note }}</p>
<h2>Performance</h2>
<div class="scroll"><table>
<thead><tr><th scope="col">Quarter</th>
{% for head in heads %}<th scope="col" class="num">{{ head }}</th>{% endfor %}
</tr></thead>
<tbody>
{% for label, cells in trend %}
<tr><th scope="row">{{ label }}</th>
{% for cell in cells %}<td class="num">{{ cell }}</td>{% endfor %}
</tr>
{% endfor %}
</tbody>
</table></div>
{% for heading, rows, empty in lists %}
<h2>{{ heading }}</h2>
{% if rows %}
<div class="scroll"><table>
<tbody>
{% for label, count in rows %}
<tr><th scope="row">{{ label }}</th><td class="num">{{ count }}</td></tr>
{% endfor %}
</tbody>
</table></div>
{% else %}<p>{{ empty }}</p>{% endif %}
{% endfor %}
<h2>Actions due this quarter</h2>
{% if actions %}
<div class="scroll"><table>
<thead><tr>{% for head in action_heads %}<th scope="col">{{ head }}</th>{% endfor %}</tr></thead>
<tbody>
{% for cells in actions %}<tr>{% for cell in cells %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}
</tbody>
</table></div>
{% else %}<p>No action was due this quarter.</p>{% endif %}
</main>
</body>
</html>
"""
)
HEADS = (
    "Reports received",
    "Acknowledged on time",
    "Median days to acknowledge",
    "Median days to close",
    "Actions done on time",
    "Called solved by the reporter",
    "Appeals",
)
ACTION_HEADS = ("Case", "Action", "Status", "Due", "Done")
NOTE = (
    "An internal committee document: counts are not hidden, as on the console's dashboard. "
    "It holds no words of reporters or of actions, and no phone number. Times are measured "
    "from when a case reached the committee; quarters are calendar quarters in UTC."
)


def _share(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}% ({part} of {whole})" if whole else "–"


def _days(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def figure_cells(raw: Raw) -> list[str]:
    """A quarter's figures as written in the report, in the order of HEADS."""
    return [
        str(raw.received),
        _share(raw.ack_on_time, raw.ack_due),
        _days(raw.median_ack_days),
        _days(raw.median_close_days),
        _share(raw.actions_on_time, raw.actions_due),
        _share(raw.solved, raw.answered),
        str(raw.appeals),
    ]


def _case(number: str) -> str:
    return f"{number[:3]}-{number[3:6]}-{number[6:]}"


def _content(report: QuarterlyReport) -> dict[str, object]:
    return {
        "title": f"{report.committee_name}: quarterly report {report.quarter}",
        "subtitle": (
            f"Committee {report.committee_code}, cases received from "
            f"{report.quarter.start:%Y-%m-%d} to "
            f"{report.quarter.end - timedelta(days=1):%Y-%m-%d}; "
            f"made {report.generated_at:%Y-%m-%d %H:%M} UTC."
        ),
        "note": NOTE,
        "heads": HEADS,
        "trend": [(str(q), figure_cells(raw)) for q, raw in report.trend],
        "lists": [
            (
                "Categories",
                [(CATEGORY_LABELS.get(c, c), n) for c, n in report.categories],
                "No case this quarter.",
            ),
            ("Places", report.sites, "No case this quarter."),
            (
                "Actions due, by status",
                sorted(report.figures.actions.items()),
                "No action was due.",
            ),
        ],
        "action_heads": ACTION_HEADS,
        "actions": [
            [
                _case(line.case_number),
                str(line.n),
                line.status,
                line.due_on.isoformat(),
                "" if line.done_at is None else f"{line.done_at:%Y-%m-%d}",
            ]
            for line in report.actions
        ],
    }


def report_html(report: QuarterlyReport, *, stylesheet: str | None = None) -> str:
    """The report as one HTML page; `stylesheet` links a style sheet when given."""
    return _HTML.render(stylesheet=stylesheet, **_content(report))


def _latin(text: str) -> str:
    return text.replace("–", "-").encode("latin-1", "replace").decode("latin-1")


class _Pdf(FPDF):
    def heading(self, text: str, size: int = 13) -> None:
        self.set_font("Helvetica", "B", size)
        self.multi_cell(0, 7, _latin(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def para(self, text: str) -> None:
        self.set_font("Helvetica", "", 9)
        self.multi_cell(0, 5, _latin(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def grid(self, heads: list[str] | None, rows: list[list[str]]) -> None:
        self.set_font("Helvetica", "", 8)
        with self.table(first_row_as_headings=heads is not None) as table:
            for cells in [heads, *rows] if heads is not None else rows:
                if cells is None:
                    continue
                row = table.row()
                for cell in cells:
                    row.cell(_latin(cell))
        self.ln(3)


def report_pdf(report: QuarterlyReport) -> bytes:
    """The report as a PDF document (A4)."""
    content = _content(report)
    pdf = _Pdf(format="A4")
    pdf.set_title(_latin(str(content["title"])))
    pdf.set_creator("Sauti")
    pdf.add_page()
    pdf.heading(str(content["title"]), 15)
    pdf.para(str(content["subtitle"]))
    pdf.para(NOTE)
    pdf.heading("Performance")
    pdf.grid(["Quarter", *HEADS], [[str(q), *figure_cells(raw)] for q, raw in report.trend])
    for heading, rows, empty in content["lists"]:  # type: ignore[attr-defined]
        pdf.heading(heading)
        if rows:
            pdf.grid(None, [[str(label), str(count)] for label, count in rows])
        else:
            pdf.para(empty)
    pdf.heading("Actions due this quarter")
    actions: list[list[str]] = content["actions"]  # type: ignore[assignment]
    if actions:
        pdf.grid(list(ACTION_HEADS), actions)
    else:
        pdf.para("No action was due this quarter.")
    return bytes(pdf.output())
