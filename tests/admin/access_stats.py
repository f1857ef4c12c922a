"""Access rows of the dashboard, the statistics API, the audit log and the public figures."""

from tests.admin.access_rows import ADMINS, ALL, Row

ROWS = [
    Row("GET", "/admin/", ALL),
    Row("GET", "/admin/dashboard.csv", ALL),
    Row("GET", "/admin/performance", ALL),
    Row("GET", "/admin/performance/report", ALL),
    Row("GET", "/admin/audit", ADMINS),
    Row("GET", "/admin/audit/export.csv", ADMINS),
    Row("GET", "/api/v1/stats", ALL),
    Row("GET", "/api/v1/audit", ADMINS),
]

# Open to anyone, signed in or not.
PUBLIC_ROWS = [
    Row("GET", "/public/stats", ALL),
    Row("GET", "/public/stats.json", ALL),
]
