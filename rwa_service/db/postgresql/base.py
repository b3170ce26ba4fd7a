"""Django's PostgreSQL backend with persistent-connection health checks at most once per interval.

With CONN_HEALTH_CHECKS Django sends `SELECT 1` before the first query of every request that reuses a connection:
one more round trip per request, on every request. Here a connection is checked when it has not been seen healthy
for DB_HEALTH_CHECK_SECONDS (default 1 s): under load that is a check a second per connection instead of one per
request; after any idle spell it is checked as before. A connection that fails between checks fails that request's
query, and Django then discards it at the end of the request (errors_occurred → is_usable), as it always does.
"""

import time

from django.conf import settings
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    """PostgreSQL, with the health check of a reused connection rate-limited to one per interval."""

    _healthy_at: float = float("-inf")

    def connect(self) -> None:
        super().connect()
        self._healthy_at = time.monotonic()  # a new connection is healthy

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and time.monotonic() - self._healthy_at < settings.DB_HEALTH_CHECK_SECONDS
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
        if self.connection is not None and self.health_check_done:
            self._healthy_at = time.monotonic()
