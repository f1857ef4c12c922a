"""Flows: the pure USSD/SMS conversation engine, its definitions and translations."""
