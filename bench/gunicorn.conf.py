"""gunicorn config for bench/http_bench.sh, used for both the service and the bare app: deploy/gunicorn.conf.py as is,
plus one thing it does not do yet: honour GUNICORN_ACCESS_LOG="" (no access log).

deploy's config sets `accesslog = None` for an empty GUNICORN_ACCESS_LOG, but it also sets `logconfig_dict`, and
gunicorn turns access logging on whenever `logconfig_dict` is set; the dict routes `gunicorn.access` to stdout, so
every request is still logged. When access logging is meant to be off, we give that logger no handler and a level
above INFO. Once deploy's config does this itself, this file changes nothing.
"""

import os

_DEPLOY = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "deploy", "gunicorn.conf.py")
with open(_DEPLOY) as _file:
    exec(compile(_file.read(), _DEPLOY, "exec"))

_loggers = globals().get("logconfig_dict", {}).get("loggers", {})
if globals().get("accesslog") is None and "gunicorn.access" in _loggers:
    _loggers["gunicorn.access"] = {"handlers": [], "level": "CRITICAL", "propagate": False}
