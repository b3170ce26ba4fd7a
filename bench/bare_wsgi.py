"""Baseline for bench/http_bench.sh: the smallest WSGI app, served by the same gunicorn config as the service.

It answers every request with 200 and a small JSON body, so its requests per second are the ceiling that gunicorn,
the kernel's loopback and wrk allow on this machine; the service is reported as a fraction of it.
"""

_BODY = b'{"id":"00000000-0000-0000-0000-000000000000","status":"ok"}'
_HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(_BODY)))]


def application(environ, start_response):
    start_response("200 OK", list(_HEADERS))
    return [_BODY]
