"""Access rows of committees, places and the outbox: staff only, in the console and the API."""

from tests.admin.access_rows import STAFF, Row

MEMBER = {"name": "Access focal point", "phone": "+243 81 555 0101", "language": "sw"}
COMMITTEE_FORM = {
    "name": "Access committee",
    "level": "local",
    "location": "cd-nk-walikale",
    "categories_mode": "all",
    "language": "sw",
    "timezone": "Africa/Lubumbashi",
    "digest_at": "18:00",
}
API_COMMITTEE = {
    key: value for key, value in COMMITTEE_FORM.items() if key != "categories_mode"
} | {"code": "access-api", "categories": "all"}

ROWS = [
    Row("GET", "/admin/committees", STAFF),
    Row("GET", "/admin/committees/new", STAFF),
    Row("POST", "/admin/committees", STAFF, {**COMMITTEE_FORM, "code": "access-committee"}),
    Row("POST", "/admin/committees/import", STAFF),
    Row("GET", "/admin/committees/{committee}", STAFF),
    Row("GET", "/admin/committees/{committee}/edit", STAFF),
    Row("POST", "/admin/committees/{committee}", STAFF, COMMITTEE_FORM),
    Row("POST", "/admin/committees/{committee}/active", STAFF, {"active": "yes"}),
    Row("POST", "/admin/committees/{committee}/members", STAFF, MEMBER),
    Row("GET", "/admin/committees/{committee}/members/{member}", STAFF),
    Row("POST", "/admin/committees/{committee}/members/{member}", STAFF, MEMBER),
    Row("POST", "/admin/committees/{committee}/members/{member}/active", STAFF, {"active": "yes"}),
    Row("GET", "/admin/places", STAFF),
    Row("POST", "/admin/places/import", STAFF),
    Row("GET", "/admin/places/{place}", STAFF),
    Row("POST", "/admin/places/{place}/rename", STAFF, {"name": "Renamed place"}),
    Row("POST", "/admin/places/{place}/active", STAFF, {"active": "yes"}),
    Row("GET", "/admin/outbox", STAFF),
    Row("GET", "/admin/outbox/optouts", STAFF),
    Row("GET", "/admin/outbox/optouts/{pseudonym}/remove", STAFF),
    Row("POST", "/admin/outbox/optouts/{pseudonym}/remove", STAFF, {"confirm": "yes"}),
    Row("GET", "/admin/outbox/{message}", STAFF),
    Row("POST", "/admin/outbox/{message}/retry", STAFF),
    Row("POST", "/admin/outbox/{message}/cancel", STAFF),
    Row("GET", "/api/v1/committees", STAFF),
    Row("POST", "/api/v1/committees", STAFF, API_COMMITTEE),
    Row("POST", "/api/v1/committees/import", STAFF),
    Row("GET", "/api/v1/committees/{committee}", STAFF),
    Row("PATCH", "/api/v1/committees/{committee}", STAFF, {"digest_at": "18:15"}),
    Row("GET", "/api/v1/committees/{committee}/members", STAFF),
    Row("POST", "/api/v1/committees/{committee}/members", STAFF, MEMBER),
    Row("PATCH", "/api/v1/committees/{committee}/members/{member}", STAFF, {"language": "fr"}),
    Row("GET", "/api/v1/places", STAFF),
    Row("POST", "/api/v1/places/import", STAFF),
    Row("PATCH", "/api/v1/places/{place}", STAFF, {"name": "Renamed place"}),
    Row("GET", "/api/v1/outbox", STAFF),
    Row("GET", "/api/v1/outbox/optouts", STAFF),
    Row("DELETE", "/api/v1/outbox/optouts/{pseudonym}", STAFF),
    Row("GET", "/api/v1/outbox/{message}", STAFF),
    Row("POST", "/api/v1/outbox/{message}/retry", STAFF),
    Row("POST", "/api/v1/outbox/{message}/cancel", STAFF),
]
