"""Helpers for tests of live widgets: bounded waits woken by a widget's own ``on_update`` hook, and
the text a learner reads in a widget's HTML."""

from __future__ import annotations

import html
import re
import threading
import time


def wait_until(widget, predicate, timeout: float = 30) -> bool:
    """Wait until ``predicate()`` holds, re-checking each time ``widget`` reports an update (its
    ``on_update`` hook) and at least once a second; False after ``timeout`` seconds."""
    ev = threading.Event()
    widget.on_update(ev.set)
    deadline = time.monotonic() + timeout
    while True:
        ev.clear()
        if predicate():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ev.wait(min(left, 1.0))


_BLOCK = re.compile(r"<(?:br|/?(?:div|p|li|ul|tr|td|th|table|thead|tbody|figure|figcaption|style))\b[^>]*>", re.I)


def text(markup: str) -> str:
    """What a reader sees of ``markup``: block tags become spaces, other tags vanish, entities are
    decoded, runs of spaces collapse."""
    plain = re.sub(r"<[^>]+>", "", _BLOCK.sub(" ", markup or ""))
    return re.sub(r"\s+", " ", html.unescape(plain)).strip()


def drop_watch_connections(cluster, timeout: float = 10) -> int:
    """As when the network drops: end the watch request in flight of every shared informer on
    ``cluster``'s API client, so each reconnects at once (to ``cluster.api.configuration.host`` as it
    is now). Returns how many were dropped. A test points the host at a dead port first to make an
    outage that the live views notice (a watch already open would otherwise keep streaming).

    A watch whose request is still being sent cannot be dropped yet (``Watch.stream`` would forget
    the stop), so those are dropped once their response has started (waiting at most ``timeout``
    seconds)."""
    from whyk8s.k8s import informer as informers

    with informers._REGISTRY_LOCK:
        found = [inf for inf in informers._REGISTRY.values()
                 if getattr(getattr(inf.lw.list_fn, "__self__", None), "api_client", None) is cluster.api
                 and inf.running]
    dropped, deadline = set(), time.monotonic() + timeout
    while len(dropped) < len(found) and time.monotonic() < deadline:
        for inf in found:
            w = inf.lw._watch
            if id(inf) in dropped or w is None or getattr(w, "_resp", None) is None:
                continue  # between two watches (it will connect to the new host), or still connecting
            w.stop()
            dropped.add(id(inf))
        if len(dropped) < len(found):
            if all(inf.lw.failing for inf in found if id(inf) not in dropped):
                break  # the others already found the outage
            time.sleep(0.02)
    return len(dropped)
