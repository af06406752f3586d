"""The pull's workers: at most `workers` calls at once — the promise to the org that no more than
`concurrency` requests are ever in flight — taken most urgent first, then in the order submitted.

A ThreadPoolExecutor serves its queue first come, first served, so work submitted late waits behind
everything before it; the token reader's next slices (auditor/sources/org/tokens.py) and the user
lookups they feed are submitted while other work is queued, and the slices are on the pull's longest
chain. So token work is URGENT, user lookups are LATER, and the rest NORMAL."""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

URGENT, NORMAL, LATER = 0, 1, 2
_STOP = 99  # after every piece of work


class PriorityPool(Executor):
    def __init__(self, workers: int, name: str = "ca-audit-pull"):
        self._queue: queue.PriorityQueue[tuple[int, int, Future | None, Callable[..., Any] | None, tuple, dict]] = \
            queue.PriorityQueue()
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"{name}_{i}", daemon=True)
                         for i in range(max(1, workers))]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return self.submit_at(NORMAL, fn, *args, **kwargs)

    def submit_at(self, priority: int, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the pool is shut down")
            self._queue.put((priority, next(self._order), future, fn, args, kwargs))
        return future

    def _work(self) -> None:
        while True:
            _priority, _n, future, fn, args, kwargs = self._queue.get()
            if future is None or fn is None:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as error:  # noqa: BLE001 - handed to whoever waits on the future
                future.set_exception(error)
            else:
                future.set_result(result)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if cancel_futures:
                kept = []
                while True:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item[2] is not None:
                        item[2].cancel()
                    else:
                        kept.append(item)
                for item in kept:
                    self._queue.put(item)
            for _ in self._threads:
                self._queue.put((_STOP, next(self._order), None, None, (), {}))
        if wait:
            for thread in self._threads:
                thread.join()
