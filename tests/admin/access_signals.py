"""Access rows of the signal list, a signal's page and its actions, in the console and the
API: every role reads signals, the roles that act on cases acknowledge and close them."""

from tests.admin.access_rows import ALL, STAFF, Row

CLOSING = {"note": "The provincial committee met the site chiefs"}

ROWS = [
    Row("GET", "/admin/signals", ALL),
    Row("GET", "/admin/signals/{signal}", ALL),
    Row("POST", "/admin/signals/{signal}/acknowledge", STAFF),
    Row("POST", "/admin/signals/{signal}/close", STAFF, CLOSING),
    Row("GET", "/api/v1/signals", ALL),
    Row("GET", "/api/v1/signals/{signal}", ALL),
    Row("POST", "/api/v1/signals/{signal}/acknowledge", STAFF),
    Row("POST", "/api/v1/signals/{signal}/close", STAFF, CLOSING),
]
