"""Access rows of the case list, the case page, its actions and the case exports."""

from tests.admin.access_rows import ALL, STAFF, Row

ROWS = [
    Row("GET", "/admin/cases", ALL),
    Row("GET", "/admin/cases/{case}", ALL),
    Row("GET", "/admin/cases/export.csv", ALL),
    Row("POST", "/admin/cases/seen", ALL),
    Row("POST", "/admin/cases/{case}/note", STAFF, {"text": "Called the site chief"}),
    Row("POST", "/admin/cases/{case}/acknowledge", STAFF),
    Row("POST", "/admin/cases/{case}/message", STAFF, {"text": "We are looking into it"}),
    Row("POST", "/admin/cases/{case}/reassign", STAFF, {"committee": "kalehe-local"}),
    Row("POST", "/admin/cases/{case}/escalate", STAFF),
    Row("POST", "/admin/cases/{case}/close", STAFF, {"outcome": "resolved"}),
    Row("POST", "/admin/cases/{case}/actions", STAFF, {"text": "Visit the pit", "days": "7"}),
    Row("POST", "/admin/cases/{case}/actions/{n}/done", STAFF),
    Row("POST", "/admin/cases/{case}/actions/{n}/verify", STAFF),
    Row("POST", "/admin/cases/{case}/level", STAFF, {"level": "1", "reason": "Children"}),
    Row("POST", "/admin/cases/{case}/link", STAFF, {"other": "482-177-3506"}),
    Row("POST", "/admin/cases/{case}/link/confirm", STAFF),
    Row("POST", "/admin/cases/{case}/unlink", STAFF),
    Row("POST", "/api/v1/cases/{case}/notes", STAFF, {"text": "Called the site chief"}),
    Row("POST", "/api/v1/cases/{case}/acknowledge", STAFF),
    Row("POST", "/api/v1/cases/{case}/messages", STAFF, {"text": "We are looking into it"}),
    Row("POST", "/api/v1/cases/{case}/reassign", STAFF, {"committee": "kalehe-local"}),
    Row("POST", "/api/v1/cases/{case}/escalate", STAFF),
    Row("POST", "/api/v1/cases/{case}/close", STAFF, {"outcome": "resolved"}),
    Row("GET", "/api/v1/exports/cases.csv", ALL),
]
