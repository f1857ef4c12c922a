"""Access rows of the case reading routes that came before the console."""

from tests.admin.access_rows import ALL, Row

ROWS = [
    Row("GET", "/api/v1/cases", ALL),
    Row("GET", "/api/v1/cases/{case}", ALL),
]
