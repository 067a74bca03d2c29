"""Recorded runs: what a live cell showed on the course's kwok cluster, kept as data and redrawn.

The rendered site (and a reader without a cluster) cannot run live cells. Next to each live
demonstration, a notebook shows a *recorded run*: a table or an event timeline that the course's own
code captured on the kwok-backed cluster (:func:`save`, kept in ``data/recordings/<name>.json``) and
redraws deterministically (:func:`show`), clearly labelled as recorded.

Two kinds:

- ``"table"``: ``{"columns": [...], "rows": [[...], ...]}``, shown as an HTML table;
- ``"events"``: ``{"events": [{"t": seconds since start, "object": "pod/x", "what": "Scheduled",
  "detail": "..."}]}``, shown as a matplotlib timeline (one row per object, time in seconds).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import matplotlib.pyplot as plt

from whyk8s.notebook.charts import plot_timeline
from whyk8s.paths import repo_root

__all__ = ["recordings_dir", "save", "load", "show", "table_html"]

def recordings_dir() -> Path:
    """``data/recordings`` of the checkout."""
    return repo_root() / "data" / "recordings"


def save(name: str, kind: str, data: dict, caption: str, provider: str = "kwok") -> Path:
    """Write recording ``name`` (``kind`` "table" or "events"; ``data`` as in the module doc) with a
    caption. Raises ValueError for an unknown kind or malformed data."""
    if kind == "table":
        if not isinstance(data.get("columns"), list) or not isinstance(data.get("rows"), list):
            raise ValueError("A table recording needs 'columns' (list) and 'rows' (list of lists).")
    elif kind == "events":
        if not isinstance(data.get("events"), list):
            raise ValueError("An events recording needs 'events' (a list of {t, object, what, detail}).")
    else:
        raise ValueError(f"Unknown recording kind {kind!r}: use 'table' or 'events'.")
    path = recordings_dir() / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"name": name, "kind": kind, "caption": caption, "provider": provider,
                                **data}, indent=1, sort_keys=True) + "\n")
    return path


def load(name: str) -> dict:
    """Read recording ``name``. Raises FileNotFoundError naming the file."""
    path = recordings_dir() / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"No recording {name!r} in data/recordings/.")
    return json.loads(path.read_text())


def _label(rec: dict) -> str:
    return (f"Recorded run on the course's {rec.get('provider', 'kwok')} cluster "
            f"(kwok simulates the nodes: no container ran). In JupyterLab, the live cell above shows your own cluster instead.")


def table_html(rec: dict) -> str:
    """HTML for a table recording, with the caption and the "recorded" label."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in rec["columns"])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in rec["rows"])
    return (f"<figure class='whyk8s-recording'><figcaption><b>{html.escape(rec['caption'])}</b><br>"
            f"<i>{html.escape(_label(rec))}</i></figcaption>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></figure>")


class _Table:
    def __init__(self, rec: dict):
        self.rec = rec

    def _repr_html_(self) -> str:
        return table_html(self.rec)

    def __repr__(self) -> str:
        widths = [max(len(str(c)), *(len(str(r[i])) for r in self.rec["rows"])) if self.rec["rows"] else len(str(c))
                  for i, c in enumerate(self.rec["columns"])]
        line = lambda vals: "  ".join(str(v).ljust(w) for v, w in zip(vals, widths)).rstrip()
        return "\n".join([self.rec["caption"], _label(self.rec), line(self.rec["columns"])] +
                         [line(r) for r in self.rec["rows"]])


def show(name: str) -> None:
    """Display recording ``name``: a labelled HTML table, or a labelled timeline chart."""
    from IPython.display import Markdown, display
    rec = load(name)
    if rec["kind"] == "table":
        display(_Table(rec))
        return
    display(Markdown(f"*{_label(rec)}*"))
    ax = plot_timeline(rec["events"], rec["caption"])
    ax.figure.tight_layout()
    plt.show()
