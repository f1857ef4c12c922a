"""Access rows of the map, its JSON and outline, and the incidents API."""

from tests.admin.access_rows import ALL, Row

ROWS = [
    Row("GET", "/admin/map", ALL),
    Row("GET", "/admin/map.json", ALL),
    Row("GET", "/admin/map/provinces.geojson", ALL),
    Row("GET", "/api/v1/incidents", ALL),
    Row("GET", "/api/v1/incidents/{case}", ALL),
]
