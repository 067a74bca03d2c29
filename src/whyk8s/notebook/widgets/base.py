"""What every live widget shares: connecting (or the panel with a Retry button), watching through the
kernel's shared informers, and drawing off the watch thread.

**Watching.** A live view subscribes to :func:`whyk8s.k8s.informer.shared_informer`: one watch per
collection in the kernel, however many widgets show it. Its callbacks run on the informer's thread
and only update the view's small records (O(1) per change).

**Drawing.** One render thread per kernel (:class:`RenderLoop`) redraws views whose records changed.
A view is drawn at once when it was last drawn long enough ago, else as soon as it may be: the gap
after a draw is at least :data:`MIN_INTERVAL` and what that draw cost, and a view's bytes are paced
by a token bucket: up to :data:`BURST_BYTES` at once, :data:`BYTES_PER_SECOND` sustained. A few
changes are thus drawn within a millisecond or two, and a burst of a thousand changes becomes a
few dozen draws a second, none of them on the watch thread, so the watch never falls behind
(benchmarks/RESULTS.md has the figures against ``kubectl get -w``). Views that show ages ask to be drawn again after a few seconds.

Widget values are only ever *set* from these threads, never printed into a cell (shared/cases
*thread-output*).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from typing import Callable

import ipywidgets as w

from whyk8s.errors import explain
from whyk8s.k8s.guard import Cluster, connect
from whyk8s.k8s.informer import Informer, Subscription, shared_informer
from whyk8s.notebook.display import _needs_cluster, cluster_panel_html
from whyk8s.notebook.html import STYLE, info_html, message_html

__all__ = ["ClusterWidget", "LiveView", "RenderLoop", "RENDER_LOOP", "MIN_INTERVAL", "BYTES_PER_SECOND",
           "BURST_BYTES"]

log = logging.getLogger(__name__)

#: The shortest gap between two draws of one view, in seconds.
MIN_INTERVAL = 0.001
#: The most bytes of widget values one view sends per second, sustained (during a burst).
BYTES_PER_SECOND = 250_000
#: The bytes a view may send at once before :data:`BYTES_PER_SECOND` paces it.
BURST_BYTES = 64_000


class RenderLoop:
    """The kernel's render thread: draws the views that asked (:meth:`request`), each no more often
    than its own pace allows, and re-draws views that asked for a tick (:meth:`tick`)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._dirty: set = set()
        self._ticks: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
        self._thread: threading.Thread | None = None
        self.renders = 0

    def _ensure(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="whyk8s-render", daemon=True)
            self._thread.start()

    def request(self, view: "LiveView") -> None:
        """Ask for ``view`` to be drawn as soon as its pace allows (any thread)."""
        with self._cond:
            self._dirty.add(view)
            self._ensure()
            self._cond.notify()

    def tick(self, view: "LiveView", seconds: float) -> None:
        """Ask for ``view`` to be drawn again in ``seconds`` (its ages will have changed)."""
        with self._cond:
            self._ticks[view] = time.monotonic() + seconds
            self._ensure()
            self._cond.notify()

    def forget(self, view: "LiveView") -> None:
        with self._cond:
            self._dirty.discard(view)
            self._ticks.pop(view, None)

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                for view, due in list(self._ticks.items()):
                    if due <= now:
                        del self._ticks[view]
                        self._dirty.add(view)
                ready = [v for v in self._dirty if v._next_render <= now]
                if not ready:
                    waits = [v._next_render - now for v in self._dirty] + [d - now for d in self._ticks.values()]
                    self._cond.wait(min(waits) if waits else None)
                    continue
                for v in ready:
                    self._dirty.discard(v)
            for v in ready:
                started = time.perf_counter()
                try:
                    sent = v._draw()
                except Exception:  # noqa: BLE001 - one view must not stop the others
                    log.exception("drawing %s failed", type(v).__name__)
                    sent = 0
                cost = time.perf_counter() - started
                self.renders += 1
                now = time.monotonic()
                # token bucket: refill at BYTES_PER_SECOND up to BURST_BYTES, pay for what was sent
                v._tokens = min(BURST_BYTES, v._tokens + (now - v._token_time) * BYTES_PER_SECOND) - sent
                v._token_time = now
                v._next_render = now + max(MIN_INTERVAL, cost, -v._tokens / BYTES_PER_SECOND)


#: The kernel's one render thread.
RENDER_LOOP = RenderLoop()


class ClusterWidget(w.VBox):
    """A VBox that connects to the course cluster, or shows the start-the-cluster panel with a Retry
    button instead of raising (when the cluster answered but refused, e.g. 403 in a namespace that is
    not the user's, the refusal's own sentence instead of the panel).

    Subclasses build their parts in ``_build()`` (called once), list them in ``_body()`` and start
    their watches in ``_connected()``. ``status`` (HTML) carries one sentence about the last action
    or connection trouble. ``on_update(fn)`` registers ``fn()``, called (from any thread) after every
    change of the view.
    """

    def __init__(self, cluster: Cluster | None = None, **kwargs):
        super().__init__(**kwargs)
        self.add_class("whyk8s-widget")
        self.cluster: Cluster | None = None
        self._hooks: list[Callable[[], None]] = []
        self._style = w.HTML(STYLE)
        self.panel = w.HTML().add_class("whyk8s-cluster-panel")
        self.status = w.HTML().add_class("whyk8s-status")
        self.retry_button = w.Button(description="Retry", icon="refresh",
                                     tooltip="Try to reach the course cluster again").add_class("whyk8s-retry")
        self.retry_button.on_click(lambda _b: self.retry())
        self._build()
        self.retry(cluster)

    # -- connection ----------------------------------------------------------------------------------
    def retry(self, cluster: Cluster | None = None) -> bool:
        """Connect (or use ``cluster``); show the widget if it worked, else the panel. True if connected."""
        self.stop()
        try:
            self.cluster = cluster or connect(create_namespace=True)
            self._connected()
        except Exception as exc:  # noqa: BLE001 - never raise at the learner
            self.stop()
            self.cluster = None
            # the panel ("start the cluster") only when no course cluster could be used; a refusal
            # (e.g. 403 in another participant's namespace) or a course error is its own sentence
            self.panel.value = (cluster_panel_html(explain(exc)) if _needs_cluster(exc)
                                else message_html(explain(exc), False))
            self.children = [self._style, self.panel, self.retry_button]
            self._updated()
            return False
        self.panel.value = ""
        self.children = [self._style, *self._body()]
        self._updated()
        return True

    @property
    def connected(self) -> bool:
        """True when the widget has a cluster connection (it may still be temporarily unreachable)."""
        return self.cluster is not None

    def on_update(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` after each update of the view (from the render thread or the kernel)."""
        self._hooks.append(fn)

    def _updated(self) -> None:
        for fn in list(self._hooks):
            try:
                fn()
            except Exception:  # noqa: BLE001 - a test's or a learner's hook must not break the widget
                log.exception("update hook failed")

    def say(self, text: str, ok: bool = False) -> str:
        """Show one sentence in ``status`` (a tick when ``ok``, else a warning sign); return it."""
        self.status.value = message_html(text, ok)
        self._updated()
        return text

    def inform(self, text: str) -> str:
        """Show one neutral sentence in ``status``; return it."""
        self.status.value = info_html(text)
        self._updated()
        return text

    # -- for subclasses ------------------------------------------------------------------------------
    def _build(self) -> None:
        raise NotImplementedError

    def _body(self) -> list:
        raise NotImplementedError

    def _connected(self) -> None:
        pass

    def stop(self) -> None:
        """Stop background watches (no-op here)."""

    def close(self) -> None:
        """Stop watches and close the widget."""
        self.stop()
        super().close()


class LiveView(ClusterWidget):
    """A :class:`ClusterWidget` fed by shared informers and drawn by :data:`RENDER_LOOP`.

    Subclasses call :meth:`watch` in ``_connected()`` for each collection they show, update their
    records in the callbacks (under ``self.lock``) and call :meth:`request_render`; :meth:`render`
    draws (it may also be called directly, e.g. by a test or a headless benchmark)."""

    def __init__(self, cluster: Cluster | None = None, **kwargs):
        self.lock = threading.RLock()
        self._subs: list[Subscription] = []
        self._next_render = 0.0
        self._tokens, self._token_time = float(BURST_BYTES), time.monotonic()
        self._failing = False
        super().__init__(cluster, **kwargs)

    def watch(self, api_fn, *args, on_event: Callable, on_sync: Callable, **kwargs) -> Informer:
        """Subscribe to the kernel's shared informer of ``api_fn(*args, **kwargs)``; list it now
        (on this thread, raising if the cluster does not answer) if it is not running yet."""
        informer = shared_informer(api_fn, *args, **kwargs)
        self._subs.append(informer.subscribe(on_event=on_event, on_sync=self._synced(on_sync),
                                             on_error=self._error))
        if not informer.running:
            informer.prime()
            informer.start()
        elif not informer.synced.wait(10):
            raise TimeoutError("The shared watch did not list its objects within 10 s.")
        return informer

    def _synced(self, on_sync: Callable) -> Callable:
        def wrapped(objects):
            on_sync(objects)
            if self._failing:
                self._failing = False
                self.say(f"The cluster answers again: the view was resynced ({len(objects)} objects).", ok=True)
            self.request_render()
        return wrapped

    def _error(self, sentence: str) -> None:
        self._failing = True
        self.say(sentence + " This view resyncs by itself when the cluster is back.")

    def request_render(self) -> None:
        """Ask the render thread to draw this view soon (any thread)."""
        RENDER_LOOP.request(self)

    def _draw(self) -> int:
        """Draw now (on the render thread); returns the bytes of the widget values that changed."""
        sent = self.render()
        self._updated()
        return sent or 0

    def render(self) -> int:
        """Draw the view from its records; returns the bytes of the values that changed."""
        raise NotImplementedError

    @staticmethod
    def set_value(widget, value: str) -> int:
        """Set ``widget.value`` if it changed; return the bytes sent (0 if unchanged)."""
        if widget.value == value:
            return 0
        widget.value = value
        return len(value)

    def stop(self) -> None:
        """Leave the shared watches (each ends when no view uses it; returns within seconds)."""
        subs, self._subs = getattr(self, "_subs", []), []
        for sub in subs:
            sub.close()
        RENDER_LOOP.forget(self)
