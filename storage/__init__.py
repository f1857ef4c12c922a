"""The database, the Redis session store and the privacy helpers."""
