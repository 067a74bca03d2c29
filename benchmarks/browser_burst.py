"""A 1,000-pod burst seen in JupyterLab in a real browser: does the page keep up and stay responsive?

Run (about 5 minutes; needs Debian's chromium and Playwright, as the browser tests do)::

    .venv/bin/python benchmarks/browser_burst.py [--pods 1000] [--board PodBoard|PlacementBoard|both]

A private kwok cluster ``perf`` (own kubeconfig, as in ``benchmarks/live_views.py``) runs a
Deployment ``bench`` with 0 replicas. JupyterLab serves a scratch notebook that connects and shows
the boards; Debian's chromium, driven by Playwright, runs it. Then the Deployment is scaled to
``--pods`` while ``kubectl get pods -w`` runs beside it, and the page measures, with the browser's
own clocks:

- when the board's summary first shows all pods Running (a MutationObserver), against kubectl's
  last Running line (every time is wall-clock ``time.time()``/``Date.now()`` on this one machine);
- responsiveness: the browser's long tasks (PerformanceObserver ``longtask``: main-thread work over
  50 ms), the longest gap between animation frames, and the delay of a keystroke typed into a
  notebook cell every second during the burst (from ``keydown`` until the text is in the editor);
- the widget messages' bytes as the browser receives them (the kernel's WebSocket frames).

Prints a Markdown table for ``benchmarks/RESULTS.md`` and writes the raw figures to ``--out``.
Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

from live_views import APP, POD_WATCH, KubectlWatch, kubectl_pod_times  # noqa: E402

TOKEN = "whyk8s-bench"

PAGE_PROBES = """() => {
  window.__bench = {longtasks: [], frames: [], keys: [], shownAt: null, text: ''};
  new PerformanceObserver(list => { for (const e of list.getEntries())
      window.__bench.longtasks.push([performance.timeOrigin + e.startTime, e.duration]); })
    .observe({type: 'longtask', buffered: true});
  let last = performance.now();
  const frame = now => { window.__bench.frames.push([performance.timeOrigin + now, now - last]); last = now;
                         requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
}"""

WATCH_SUMMARY = """(want) => {
  const check = () => {
    const el = document.querySelector('.whyk8s-board-summary');
    const text = el ? el.textContent : '';
    if (window.__bench.shownAt === null && text.includes(want)) window.__bench.shownAt = Date.now();
  };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scratch_notebook(path: Path, board: str) -> None:
    cells = ["from whyk8s.notebook.display import notebook_cluster\ncluster = notebook_cluster()"]
    if board in ("PodBoard", "both"):
        cells.append("from whyk8s.notebook.widgets import PodBoard\nPodBoard(cluster)")
    if board in ("PlacementBoard", "both"):
        cells.append("from whyk8s.notebook.widgets import PlacementBoard\nPlacementBoard(cluster)")
    cells.append("# type here")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


def start_lab(root: Path, env: dict) -> tuple[subprocess.Popen, str]:
    settings = root / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port = _free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={TOKEN}", "--LabApp.expose_app_in_browser=True",
         "--ServerApp.allow_root=True", f"--LabApp.workspaces_dir={root / 'workspaces'}", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**env, "JUPYTER_PLATFORM_DIRS": "1", "JUPYTERLAB_SETTINGS_DIR": str(root / "user-settings")})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2)
            return proc, base
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("JupyterLab did not start") from None
            time.sleep(0.5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pods", type=int, default=1000)
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--board", choices=["PodBoard", "PlacementBoard", "both"], default="both")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--out", default=str(HERE / "out" / "browser_burst.json"))
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="whyk8s-browser-"))
    kubeconfig = str(workdir / "kubeconfig")
    os.environ.update(WHYK8S_CLUSTER="perf", KUBECONFIG=kubeconfig, WHYK8S_ALLOW_CONTEXT="kwok-perf")
    from browser import CHROMIUM_ARGS, chromium_path
    from live_views import add_nodes, remove_nodes, scale_to, wait_count
    from playwright.sync_api import sync_playwright

    from whyk8s.cluster import controlplane
    from whyk8s.cluster.providers import get_provider
    from whyk8s.k8s import objects, specs

    provider = get_provider("kwok")
    cluster = provider.up(log=lambda *_: None)
    kubectl = str(controlplane.build()["kubectl"])
    objects.cleanup(cluster)
    objects.create(cluster, specs.deployment(APP, replicas=0, cpu="1m", memory="1Mi"))
    add_nodes(cluster, args.nodes)
    root = workdir / "lab"
    root.mkdir()
    scratch_notebook(root / "burst.ipynb", args.board)
    lab, base = start_lab(root, dict(os.environ))
    frames: list[tuple[float, int]] = []
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "pods": args.pods, "board": args.board}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(
                (time.time(), len(payload if isinstance(payload, (bytes, str)) else b"")))))
            page.goto(f"{base}/lab/tree/burst.ipynb?token={TOKEN}")
            page.wait_for_selector(".jp-NotebookPanel .jp-Notebook")
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext.session")
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_selector(".whyk8s-board-summary, .whyk8s-placement", state="attached")
            page.wait_for_function("() => window.jupyterapp.shell.currentWidget.sessionContext.session"
                                   ".kernel.status === 'idle'")
            time.sleep(2)
            page.evaluate(PAGE_PROBES)
            page.evaluate(WATCH_SUMMARY, f"{args.pods:,} Running")
            editor = page.locator(".jp-Cell").last.locator(".cm-content")
            editor.click()
            pods_w = KubectlWatch(kubectl, kubeconfig, POD_WATCH)
            offset = time.time() - time.monotonic()
            frames.clear()
            t0 = time.time()
            scale_to(cluster, args.pods)
            keys = []
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                before = time.time()
                page.keyboard.type("x")
                page.wait_for_function("(n) => document.querySelectorAll('.jp-Cell')[document.querySelectorAll("
                                       "'.jp-Cell').length - 1].querySelector('.cm-content').textContent.length >= n",
                                       arg=len("# type here") + len(keys) + 1)
                keys.append(time.time() - before)
                done = page.evaluate("() => window.__bench.shownAt")
                if done and time.time() - t0 > 5:
                    break
                time.sleep(1.0)
            wait_count(cluster, args.pods, 600)
            time.sleep(3)
            bench = page.evaluate("() => window.__bench")
            k = kubectl_pod_times(pods_w.lines(), t0 - offset)
            pods_w.stop()
            browser.close()
        last_running = k["running"][-1] + offset if k["running"] else None
        during = [d for t, d in bench["longtasks"] if t / 1000 >= t0]
        gaps = [g for t, g in bench["frames"] if t / 1000 >= t0]
        burst_frames = [n for t, n in frames if t >= t0]
        results.update({
            "kubectl_all_running_s": last_running - t0 if last_running else None,
            "page_all_running_s": bench["shownAt"] / 1000 - t0 if bench["shownAt"] else None,
            "longtasks": len(during), "longtask_total_s": sum(during) / 1000, "longtask_max_ms": max(during, default=0),
            "frame_gap_max_ms": max(gaps, default=0),
            "frame_gap_p95_ms": sorted(gaps)[int(0.95 * (len(gaps) - 1))] if gaps else 0,
            "keystroke_ms": {"median": 1000 * statistics.median(keys), "max": 1000 * max(keys), "n": len(keys)},
            "websocket": {"frames": len(burst_frames), "bytes": sum(burst_frames),
                          "median": statistics.median(burst_frames) if burst_frames else 0,
                          "max": max(burst_frames, default=0)},
        })
    finally:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=1))
        lab.terminate()
        try:
            lab.wait(10)
        except subprocess.TimeoutExpired:
            lab.kill()
        remove_nodes(cluster)
        if not args.keep:
            provider.down(log=lambda *_: None)
        shutil.rmtree(workdir, ignore_errors=True)
    r = results
    print("\n| board | pods | kubectl all Running (s) | page shows all Running (s) | ratio "
          "| long tasks (count, total s, max ms) "
          "| max frame gap (ms) | keystroke echo median / max (ms) | WebSocket frames, MB, median / max bytes |")
    print("|---|---|---|---|---|---|---|---|---|")
    ratio = r["page_all_running_s"] / r["kubectl_all_running_s"] if r.get("page_all_running_s") else None
    print(f"| {r['board']} | {r['pods']:,} | {r['kubectl_all_running_s']:.1f} | {r['page_all_running_s']:.1f} | "
          f"{ratio:.3f} | {r['longtasks']}, {r['longtask_total_s']:.1f}, {r['longtask_max_ms']:.0f} | "
          f"{r['frame_gap_max_ms']:.0f} | {r['keystroke_ms']['median']:.0f} / {r['keystroke_ms']['max']:.0f} | "
          f"{r['websocket']['frames']}, {r['websocket']['bytes'] / 1e6:.1f}, {r['websocket']['median']:.0f} / "
          f"{r['websocket']['max']:.0f} |")


if __name__ == "__main__":
    main()
