"""Small, lesson-agnostic acts on the official ``kubernetes`` client: the context guard, quantities,
object builders, create/delete, pod and node facts, and the one list-then-watch mechanism (informer,
waits). Imports nothing from :mod:`whyk8s.lessons`, :mod:`whyk8s.notebook` or :mod:`whyk8s.cluster`."""
