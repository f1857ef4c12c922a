"""A reporter's language choice, written to the database off the USSD reply path.

The hop that takes the choice keeps it in Redis (the number's language cache, read by the
next dial) and enqueues this job; when the job cannot be enqueued, a report sent in the
same conversation writes the choice in the report's own transaction. A choice older
than the one stored (a retried job overtaken by a later choice) changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from storage import prefs
from workers import context


def save_language(pseudonym: str, language: str, chosen_at: str) -> bool:
    """Store the language the number behind `pseudonym` chose at `chosen_at` (ISO 8601);
    False when a later choice is stored already."""
    at = datetime.fromisoformat(chosen_at)
    with context.current().sessions.begin() as session:
        return prefs.set_language_chosen(
            session=session, pseudonym=pseudonym, language=language, at=at
        )
