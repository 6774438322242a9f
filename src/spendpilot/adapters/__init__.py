"""Tool adapters: all network I/O lives here. Read side returns domain objects; write side applies plans."""
