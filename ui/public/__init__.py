"""The public progress page: no login, reads only the tracker's read API (``/api/v1``)."""
