"""Long-lived processes (web and Celery workers) put what they built at start-up out of the garbage collector's way.

Python's cyclic collector walks every tracked object in a full collection. After Django's start-up that is ≈ 120,000
objects (models, URL patterns, serializer classes, settings) that live as long as the process, and a busy worker
allocates enough to run full collections often, each walking them all again: ≈ 17 % of a revaluation chunk's Python
time (`bench/revaluation_chunk_cost.py`, same process with and without). `gc.freeze()` moves the objects alive now
to a permanent generation the collector no longer walks; objects made later are collected as before. Called once a
worker has loaded the application: gunicorn's `post_worker_init` (deploy/gunicorn.conf.py), Celery's
`worker_process_init` and `worker_ready` (rwa_service/celery.py).
"""

import gc


def startup_objects_freeze() -> int:
    """Collects what is garbage already, then freezes the rest; returns how many objects are now frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
