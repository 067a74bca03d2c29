"""The course's Jupyter Book site: build it, check its links, and the Sphinx hooks it needs.

``python -m whyk8s.site build`` (what ``make book`` runs) makes sure ``book/notebooks`` and
``book/labs`` link to the chapters and labs, builds the site with Jupyter Book 1.x into
``book/_build/html`` without executing any notebook (the committed outputs are shown), checks that
every local link and image in the built HTML resolves, and writes the external links it found to
``book/_build/external-links.txt`` (checking those needs a network; see :func:`external_links`).

This module is also a Sphinx extension (``sphinx.extra_extensions`` in ``book/_config.yml``). At
build time, without touching the notebooks themselves, :func:`setup`

- collapses the code cells of lab solutions (tag ``hide-input``: :func:`collapse_solution_cells`);
- keeps one caption per figure: the notebook's own "**Figure N.**" paragraph, which JupyterLab shows
  too, and not also a numbered "Fig. N" caption per output from the cell's ``mystnb.figure``
  metadata (:func:`one_caption_per_figure`);
- rewrites the notebooks' links into ``book/`` (``../book/glossary.md``, which JupyterLab opens from
  ``notebooks/``) to where those pages are in the book's source tree (``../glossary.md``:
  :func:`book_relative_links`);
- drops the widget views of saved outputs, which a static page cannot show, so that an output's
  static alternative (a PNG, HTML or text shown next to the widget) appears
  (:func:`static_outputs`).

``python -m whyk8s.site lite`` tries a JupyterLite build of the chapters that need no cluster (see
:func:`build_lite`); what it can and cannot do offline is documented in ``book/site.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from whyk8s.paths import repo_root

__all__ = ["LINKS", "SOLUTIONS_PREFIX", "SOLUTION_TAG", "LITE_CONTENTS", "WIDGET_VIEW", "BuildResult", "LinkReport",
           "book_dir", "ensure_links", "toc_files", "build", "check_links", "external_links",
           "collapse_solution_cells", "one_caption_per_figure", "book_relative_links", "static_outputs",
           "site_notebook", "build_lite", "setup", "main"]

#: Symbolic links inside ``book/`` that bring the chapters and labs into the book's source tree.
LINKS = {"notebooks": "../notebooks", "labs": "../labs"}
#: Docnames under this prefix are lab solutions: their code cells are collapsed on the site.
SOLUTIONS_PREFIX = "labs/solutions/"
#: The tag added at build time to every code cell of a solution (Jupyter Book: input collapsed,
#: a "Show code cell source" toggle opens it; the output stays visible).
SOLUTION_TAG = "hide-input"
#: The MIME type of a saved ipywidgets view (it needs a kernel, or saved widget state, to show anything).
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: Tags that already decide how a cell shows; a solution cell carrying one of them is left alone.
_VISIBILITY_TAGS = {"remove-cell", "remove-input", "hide-cell", "hide-input"}
#: Notebooks (relative to the repository) that need no cluster: candidates for a JupyterLite build.
LITE_CONTENTS = ("notebooks/01-mlops-without-orchestration.ipynb",
                 "notebooks/02-containers-are-not-docker.ipynb",
                 "notebooks/05-why-kubernetes-won.ipynb",
                 "labs/lab6-read-the-survey.ipynb")


def book_dir() -> Path:
    """``book/`` of the checkout (see :func:`whyk8s.paths.repo_root`)."""
    return repo_root() / "book"


def ensure_links(book: Path | None = None) -> list[str]:
    """Create ``book/notebooks`` → ``../notebooks`` and ``book/labs`` → ``../labs`` where missing.

    Returns the names it created (empty when both were there). Raises FileExistsError, naming the
    path, if one of them exists but is not that symbolic link (e.g. a checkout without symlink
    support turned it into a small text file).
    """
    book = book or book_dir()
    made = []
    for name, target in LINKS.items():
        path = book / name
        if path.is_symlink():
            if os.readlink(path) == target:
                continue
            raise FileExistsError(f"{path.name} in book/ links to {os.readlink(path)!r}, not {target!r}.")
        if path.exists():
            raise FileExistsError(f"book/{name} exists but is not a link to {target}: remove it and "
                                  f"build again (the build recreates the link).")
        path.symlink_to(target, target_is_directory=True)
        made.append(name)
    return made


def toc_files(book: Path | None = None) -> list[tuple[str, str]]:
    """The book's pages in table-of-contents order: ``(part caption, docname)`` pairs, the root page
    first with part ``""``. Docnames are relative to ``book/`` and have no suffix.
    Raises FileNotFoundError / yaml.YAMLError for a missing or malformed ``_toc.yml``."""
    import yaml
    book = book or book_dir()
    toc = yaml.safe_load((book / "_toc.yml").read_text())
    out = [("", toc["root"])]

    def walk(entries, caption):
        for entry in entries or []:
            if "file" in entry:
                out.append((caption, entry["file"]))
            walk(entry.get("sections"), caption)

    for part in toc.get("parts", []):
        walk(part.get("chapters"), part.get("caption", ""))
    walk(toc.get("chapters"), "")
    return out


@dataclass
class BuildResult:
    """One build: ``html`` (the HTML folder), ``seconds`` (wall-clock build time), ``returncode`` of
    ``jupyter-book build``, ``warnings`` (the build's WARNING/ERROR lines) and the full ``log``."""

    html: Path
    seconds: float
    returncode: int
    warnings: list[str] = field(default_factory=list)
    log: str = ""

    @property
    def ok(self) -> bool:
        """True when Jupyter Book exited 0 and wrote ``index.html``."""
        return self.returncode == 0 and (self.html / "index.html").is_file()


def build(output: Path | str | None = None, book: Path | None = None, timeout: float = 900) -> BuildResult:
    """Build the site with ``jupyter-book build`` (no notebook is executed).

    ``output`` is the folder that receives ``_build/html`` (default: ``book/``, so the site lands in
    ``book/_build/html``). Creates the ``book/`` links first (:func:`ensure_links`). Returns a
    :class:`BuildResult`; does not raise when the build fails (look at ``ok`` and ``log``), but raises
    subprocess.TimeoutExpired after ``timeout`` seconds.
    """
    book = book or book_dir()
    ensure_links(book)
    output = Path(output) if output else book
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(book), "--path-output", str(output),
           "--builder", "html", "--keep-going", "--all"]  # --all: links to pages added since the last build resolve
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=book.parent)
    seconds = time.monotonic() - start
    log = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)  # no colour codes
    warnings = [line for line in log.splitlines() if re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line)]
    return BuildResult(output / "_build" / "html", seconds, proc.returncode, warnings, log)


class _Refs(HTMLParser):
    """Collects ``(attribute, value)`` of links and sources, ``id``/``name`` anchors, and images'
    ``src``/``alt``."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str]] = []
        self.ids: set[str] = set()
        self.images: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key])
        if tag == "img":
            self.images.append({"src": a.get("src"), "alt": a.get("alt")})
        for key in ("href", "src"):
            if a.get(key) and tag in {"a", "img", "link", "script", "source", "iframe"}:
                self.refs.append((key, a[key]))


def _parse(path: Path) -> _Refs:
    p = _Refs()
    p.feed(path.read_text(encoding="utf-8", errors="replace"))
    return p


@dataclass
class LinkReport:
    """Result of :func:`check_links`: ``pages`` checked, ``broken`` (``"page: href (reason)"``
    strings), ``external`` (sorted external URLs), ``images`` (``(page, src, alt)`` of every ``<img>``)."""

    pages: int
    broken: list[str]
    external: list[str]
    images: list[tuple[str, str, str | None]]


def check_links(html_dir: Path | str) -> LinkReport:
    """Check every local ``href``/``src`` in every built HTML page of ``html_dir``: the file must
    exist and a ``#fragment`` pointing into a page must name an ``id`` there. External links
    (``http(s)://`` and other schemes) are collected, not fetched. Raises FileNotFoundError if
    ``html_dir`` has no ``index.html``."""
    html_dir = Path(html_dir)
    if not (html_dir / "index.html").is_file():
        raise FileNotFoundError(f"No built site in {html_dir} (index.html missing): build it first.")
    pages = sorted(p for p in html_dir.rglob("*.html") if "_static" not in p.parts)
    parsed: dict[Path, _Refs] = {}

    def refs_of(path: Path) -> _Refs:
        if path not in parsed:
            parsed[path] = _parse(path)
        return parsed[path]

    broken, external, images = [], set(), []
    for page in pages:
        rel = page.relative_to(html_dir).as_posix()
        refs = refs_of(page)
        for img in refs.images:
            images.append((rel, img["src"] or "", img["alt"]))
        for _, ref in refs.refs:
            parts = urlsplit(ref)
            if parts.scheme in ("http", "https"):
                external.add(ref)
                continue
            if parts.scheme or ref.startswith("//"):  # mailto:, data:, javascript: ...
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{rel}: {ref} (no such file)")
                continue
            if parts.fragment and target.suffix == ".html" and "_static" not in target.parts:
                if unquote(parts.fragment) not in refs_of(target).ids:
                    broken.append(f"{rel}: {ref} (no anchor #{parts.fragment})")
    return LinkReport(len(pages), sorted(set(broken)), sorted(external), images)


def external_links(report: LinkReport, path: Path | str) -> Path:
    """Write ``report.external`` to ``path``, one URL a line, and return the path. Fetching them needs
    a network (e.g. ``jupyter-book build book/ --builder linkcheck``); the tests skip that here."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(u + "\n" for u in report.external))
    return path


# ── Sphinx extension ───────────────────────────────────────────────────────────────────────────────

def _collapse(nb: dict, tag: str = SOLUTION_TAG) -> dict:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if not _VISIBILITY_TAGS.intersection(tags):
            tags.append(tag)
    return nb


def collapse_solution_cells(notebook_json: str, tag: str = SOLUTION_TAG) -> str:
    """Return ``notebook_json`` (a notebook as JSON text) with ``tag`` added to every code cell that
    has no visibility tag yet (``remove-*``/``hide-*``). Raises ValueError (json) if it is not JSON."""
    return json.dumps(_collapse(json.loads(notebook_json), tag))


def one_caption_per_figure(nb: dict) -> dict:
    """Drop ``mystnb.figure`` (caption and name) from every cell of ``nb`` (a notebook dict, changed in
    place and returned), keeping ``mystnb.image`` (the alt text).

    MyST-NB turns that metadata into a numbered "Fig. N" caption on *each* output of the cell, numbered
    across the whole book, while the chapter's own "**Figure N.**" paragraph under the cell (what
    JupyterLab shows) numbers figures per chapter: a recorded run (a label and a chart) got three
    captions with three numbers. The paragraph stays the only caption, the same in both places."""
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("mystnb")
        if isinstance(meta, dict):
            meta.pop("figure", None)
    return nb


_BOOK_LINK = re.compile(r"(\]\(|<)((?:\.\./)+)book/")


def book_relative_links(nb: dict, docname: str) -> dict:
    """Rewrite Markdown links from a notebook into ``book/`` so that they resolve in the book's source
    tree, where the notebook itself sits under ``book/``: in a document ``notebooks/x``,
    ``[Glossary](../book/glossary.md)`` (right in JupyterLab, from ``notebooks/``) becomes
    ``[Glossary](../glossary.md)``; in ``labs/solutions/x`` ``../../book/`` becomes ``../../``. Only
    links climbing exactly to the repository root are changed. ``nb`` is changed in place and returned."""
    up = "../" * docname.count("/")

    def fix(m: re.Match) -> str:
        return m.group(1) + m.group(2) if up and m.group(2) == up else m.group(0)

    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            text = "".join(cell.get("source", []))
            new = _BOOK_LINK.sub(fix, text)
            if new != text:
                cell["source"] = new
    return nb


def static_outputs(nb: dict) -> dict:
    """Remove widget views (:data:`WIDGET_VIEW`) from the saved outputs of ``nb`` (changed in place and
    returned); an output that had nothing else is dropped. A static page cannot run a widget, and a
    saved view without its state shows nothing (or its ``text/plain`` repr, e.g. ``VBox(children=…``),
    while a static alternative saved beside it, such as chapter 5's chart, shows as it is."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            data = out.get("data")
            if isinstance(data, dict) and WIDGET_VIEW in data:
                continue  # the view and its text/plain repr ("VBox(children=...)") go together
            kept.append(out)
        cell["outputs"] = kept
    return nb


def site_notebook(notebook_json: str, docname: str) -> str:
    """Everything the site changes in a notebook at build time (see the module doc), for document
    ``docname`` (e.g. ``notebooks/03-what-an-orchestrator-does``). Returns the new JSON text; raises
    ValueError (json) if ``notebook_json`` is not JSON."""
    nb = json.loads(notebook_json)
    if docname.startswith(SOLUTIONS_PREFIX):
        _collapse(nb)
    one_caption_per_figure(nb)
    book_relative_links(nb, docname)
    static_outputs(nb)
    return json.dumps(nb)


def _source_read(app, docname: str, source: list[str]) -> None:
    if app.env.doc2path(docname).endswith(".ipynb"):
        source[0] = site_notebook(source[0], docname)


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    """Drop repeated ``<script>`` entries. sphinx-thebe 0.3 adds its inline configuration twice in a
    Jupyter Book build, and the second ``const THEBE_JS_URL`` is a JavaScript error on every page."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        # the copies differ only in filename None vs "" (both mean: inline script)
        key = (str(getattr(js, "filename", js) or ""), tuple(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def setup(app):
    """Sphinx entry point: change each notebook as :func:`site_notebook` says (solutions collapsed, one
    caption per figure, links into ``book/``, static outputs) and remove duplicated scripts from every
    page (see :func:`_dedupe_scripts`)."""
    app.connect("source-read", _source_read)
    app.connect("html-page-context", _dedupe_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


# ── JupyterLite ─────────────────────────────────────────────────────────────────────────────────────

_CDN = re.compile(r"https://cdn\.jsdelivr\.net/pyodide/[^\"'\s]+")


def build_lite(output: Path | str, contents: tuple[str, ...] = LITE_CONTENTS, timeout: float = 600) -> dict:
    """Try ``jupyter lite build`` of ``contents`` (repository-relative notebooks) into ``output``.

    Returns ``{"ok": bool, "returncode": int, "seconds": float, "pyodide_urls": [...], "log": str}``:
    ``pyodide_urls`` are the places the built kernel will fetch Pyodide from at run time (normally
    a CDN; the build itself does not download Pyodide). Raises FileNotFoundError if ``jupyter lite``
    (packages ``jupyterlite-core`` + ``jupyterlite-pyodide-kernel``, extra ``site``) is not installed.
    """
    exe = Path(sys.executable).with_name("jupyter-lite")
    if not exe.exists():
        raise FileNotFoundError("jupyter-lite is not installed: pip install -e '.[site]'.")
    root = repo_root()
    output = Path(output).resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(exe), "build", "--output-dir", str(output)]
    for c in contents:
        cmd += ["--contents", str(root / c)]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=output.parent)
    urls: set[str] = set()
    schema = output / "extensions" / "@jupyterlite" / "pyodide-kernel-extension" / "static" / "schema"
    for f in schema.glob("*.json") if schema.is_dir() else []:
        urls.update(_CDN.findall(f.read_text()))
    return {"ok": proc.returncode == 0 and (output / "index.html").is_file(), "returncode": proc.returncode,
            "seconds": time.monotonic() - start, "pyodide_urls": sorted(urls),
            "log": proc.stdout + proc.stderr}


# ── command line ────────────────────────────────────────────────────────────────────────────────────

def main(argv: list[str] | None = None) -> int:
    """``python -m whyk8s.site build [--output DIR]`` or ``python -m whyk8s.site lite [--output DIR]``.
    Returns the exit status: 0 on success, 1 when the build failed or a local link is broken."""
    parser = argparse.ArgumentParser(prog="python -m whyk8s.site", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the site into book/_build/html and check its links")
    b.add_argument("--output", help="folder that receives _build/html (default: book/)")
    lite = sub.add_parser("lite", help="try a JupyterLite build of chapters 1, 2, 5 and lab 6")
    lite.add_argument("--output", default=str(book_dir() / "_build" / "lite"))
    args = parser.parse_args(argv)

    if args.command == "lite":
        try:
            res = build_lite(Path(args.output))
        except FileNotFoundError as exc:
            print(exc)
            return 1
        print(res["log"][-2000:])
        print(f"JupyterLite build {'succeeded' if res['ok'] else 'FAILED'} in {res['seconds']:.0f} s.")
        for url in res["pyodide_urls"]:
            print(f"At run time the kernel loads Pyodide from {url} (needs that network; see book/site.md).")
        return 0 if res["ok"] else 1

    res = build(args.output)
    print(res.log[-3000:] if not res.ok else "")
    print(f"jupyter-book build {'succeeded' if res.ok else 'FAILED'} in {res.seconds:.0f} s "
          f"with {len(res.warnings)} warning(s).")
    for w in res.warnings:
        print("  " + w)
    if not res.ok:
        return 1
    report = check_links(res.html)
    path = external_links(report, res.html.parent / "external-links.txt")
    print(f"Checked the links of {report.pages} pages: {len(report.broken)} broken.")
    for b in report.broken:
        print("  broken: " + b)
    print(f"{len(report.external)} external links listed in {path} "
          f"(not fetched).")
    print(f"Open {res.html / 'index.html'}")
    return 1 if report.broken else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
