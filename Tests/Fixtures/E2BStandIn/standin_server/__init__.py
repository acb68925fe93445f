"""A local stand-in for E2B's control-plane API and envd, for tests.

The modules here are the server behind `standin.py`; nothing in them is a client of ours. They
follow E2B's published contract (see README.md beside this package).
"""
