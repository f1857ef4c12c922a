"""Access rows of a case's spoken answers: only the roles that read free text may listen."""

from tests.admin.access_rows import STAFF, Row

# A ref no recording has: admins and coordinators get 404, analysts 403.
ROWS = [Row("GET", "/admin/cases/{case}/recordings/{ref}", STAFF)]
