"""Access rows of the voice prompts pages and the voice simulator: admins only."""

from tests.admin.access_rows import ADMINS, Row

ROWS = [
    Row("GET", "/admin/voice", ADMINS),
    Row("GET", "/admin/voice/{language}", ADMINS),
    Row("GET", "/admin/voice/{language}/kit.csv", ADMINS),
    Row("GET", "/admin/voice/{language}/draft/{file}", ADMINS),
    Row("GET", "/admin/voice/{language}/published/{file}", ADMINS),
    Row("POST", "/admin/voice/{language}/upload", ADMINS),
    Row("POST", "/admin/voice/{language}/publish", ADMINS),
    Row("POST", "/admin/voice/{language}/discard", ADMINS),
    Row("POST", "/admin/flows/simulator/voice", ADMINS, {"action": "dial", "language": "en"}),
]
