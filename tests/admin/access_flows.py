"""Access rows of the flows and translations pages and their API: admins only."""

from tests.admin.access_rows import ADMINS, Row

ROWS = [
    Row("GET", "/admin/flows", ADMINS),
    Row("GET", "/admin/flows/{version}", ADMINS),
    Row("GET", "/admin/flows/{version}/documents/{flow}", ADMINS),
    Row("POST", "/admin/flows/drafts", ADMINS, {"name": "extra", "text": "texts: {}"}),
    Row("POST", "/admin/flows/{version}/publish", ADMINS),
    Row("POST", "/admin/flows/{version}/rollback", ADMINS),
    Row("POST", "/admin/flows/simulator", ADMINS, {"action": "dial", "language": "en"}),
    Row("GET", "/admin/translations", ADMINS),
    Row("GET", "/admin/translations/{language}", ADMINS),
    Row("GET", "/admin/translations/{language}.po", ADMINS),
    Row("POST", "/admin/translations/{language}", ADMINS),
    Row("POST", "/admin/translations/{language}/apply", ADMINS),
    Row("GET", "/api/v1/flows", ADMINS),
    Row("GET", "/api/v1/flows/{version}", ADMINS),
    Row("POST", "/api/v1/flows/drafts", ADMINS, {"documents": {"extra": "texts: {}"}}),
    Row("POST", "/api/v1/flows/{version}/lint", ADMINS),
    Row("GET", "/api/v1/flows/{version}/diff", ADMINS),
    Row("POST", "/api/v1/flows/{version}/publish", ADMINS),
    Row("POST", "/api/v1/flows/{version}/rollback", ADMINS),
    Row("POST", "/api/v1/flows/simulate", ADMINS, {"language": "en"}),
    Row("GET", "/api/v1/translations", ADMINS),
    Row("GET", "/api/v1/translations/{language}.po", ADMINS),
    Row("POST", "/api/v1/translations/{language}", ADMINS),
]
