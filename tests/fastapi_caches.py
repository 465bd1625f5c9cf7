"""fastapi's module-level caches of the callables it has classified, emptied on demand.

fastapi keeps every dependency and endpoint callable it has inspected in LRU caches
(up to 4 096 each, strong references). Our routes are closures over their
application's services, so each application started in one process would stay in
memory (~75 MB of models and sessions) as long as the process. A kiosk runs one
application per process, so only the test suite needs this.
"""

from __future__ import annotations


def forget_classified_callables() -> None:
    from fastapi.dependencies import models

    for name in dir(models):
        clear = getattr(getattr(models, name), "cache_clear", None)
        if callable(clear):
            clear()
