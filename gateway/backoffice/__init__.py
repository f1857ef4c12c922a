"""What the web console (`gateway.admin`) and the admin API (`gateway.api`) share.

Both import this package and never each other: who may see what, the data behind the
dashboard and the audit log, case exports, and the keys that sign tokens and hash
addresses.
"""
