"""Cursor pagination for every list: stable under inserts, `page_size` up to 100."""

from rest_framework.pagination import CursorPagination


class CursorPage(CursorPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = "-created_at"


class SeqCursorPage(CursorPage):
    """Audit events, oldest first: `seq` is gapless and unique, so the cursor is exact."""

    ordering = "seq"
