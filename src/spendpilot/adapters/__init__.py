"""Tool adapters: all network I/O lives here. See ``adapters/base.py`` for the two seams:
a *source* contributes to a sweep's snapshot; a *target* is what actions write through."""
