"""The console provider: sending only (`send.py`). It delivers each message at once, into
a file, so it has no status callbacks (`status.py`) and no inbound webhook (`receive.py`)
of its own; the simulator and the tests play the phones."""
