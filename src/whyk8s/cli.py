"""The ``whyk8s`` command: the course cluster, the kwok provider's control plane, Kueue and Karpenter.

Commands::

    whyk8s cluster up [--provider auto|kind|kwok]   # create or restart the course cluster; auto: kind if
                                                    # Docker and kind are there and kind's node image
                                                    # is there or can be pulled, else kwok. Makes the
                                                    # course's context current in the kubeconfig
    whyk8s cluster stop [--provider …]              # stop it, keeping it (`up` starts it again)
    whyk8s cluster down [--provider …]              # delete it
    whyk8s cluster status                           # the context and the nodes
    whyk8s cluster doctor                           # check Docker, kind, kubectl, memory, inotify, Go,
                                                    # context, cluster; exits 1 when a check fails
    whyk8s cluster clean                            # delete every object the course created
    whyk8s cluster render-kind                      # print clusters/kind.yaml as generated from the layout
    whyk8s controlplane build                       # build the kwok provider's binaries (Go module proxy)
    whyk8s controlplane path                        # print the folder of the built binaries
    whyk8s controlplane pin                         # (maintainers) regenerate the kubernetes go.mod
    whyk8s kueue up                                 # (kwok) build Kueue if needed, install it, start its
                                                    # manager as a local process (src/whyk8s/cluster/kueue.py)
    whyk8s kueue down                               # stop it and remove all it installed
    whyk8s kueue status                             # whether it runs, its CRDs, webhooks and ports
    whyk8s kueue build                              # build Kueue's manager into the cache (Go module proxy)
    whyk8s karpenter up                             # (kwok) build Karpenter with its kwok provider if needed,
                                                    # install its CRDs, start it as a local process
                                                    # (src/whyk8s/cluster/karpenter.py)
    whyk8s karpenter down                           # stop it; remove its CRDs, NodePools, NodeClaims, Nodes
    whyk8s karpenter status                         # whether it runs, its NodePools, NodeClaims and Nodes
    whyk8s karpenter build                          # build Karpenter into the cache (Go module proxy)
    whyk8s kind docker                              # (root) start Docker if it is not running, with a
                                                    # runtime for machines that lack CAP_SYS_RESOURCE
    whyk8s kind node-image                          # build kind's node image and the course's images
                                                    # here (no registry needed; once per machine)
    whyk8s kind images                              # list the images the course runs (for `kind load`)
    whyk8s workshop up --participants N [--hours H] [--context C] [--hub-url URL] [--server URL]
                       [--gpu-nodes K] [--highmem-nodes H]  # one namespace, ServiceAccount, Role, quota
                                                    # and kubeconfig per participant (src/whyk8s/cluster/workshop.py);
                                                    # kwok: K = ceil((N+1)/4) - 1 extra GPU nodes and
                                                    # H = ceil((N+1)/2) - 1 high-memory nodes by default
    whyk8s workshop status [--rights P] [--watch]   # per participant: token expiry, pods, quota used,
                                                    # checks passed, who is stuck; --watch keeps it live;
                                                    # with --rights, P's `kubectl auth can-i` table
    whyk8s workshop cards [--hub-url URL]           # printable HTML cards, one per page
    whyk8s workshop reset P [--progress]            # empty participant P's namespace of what they made
                                                    # (--progress: clear their lab-check record too)
    whyk8s workshop down                            # delete all `up` made, kubeconfigs and cards too
    whyk8s workshop dashboard [--port 8890]         # the instructor's live dashboard: a JupyterLab of yours on
                                                    # 127.0.0.1 with workshop/dashboard.ipynb; prints its URL

Every command that acts on a cluster goes through the context guard (:mod:`whyk8s.k8s.guard`): a
refusal, like any failure, is printed as one sentence (:func:`whyk8s.errors.explain`) and exits 1.
"""

from __future__ import annotations

import argparse
import sys
import time

from whyk8s.errors import explain

__all__ = ["main", "build_parser"]

PROVIDERS = ["auto", "kind", "kwok"]


def _status(args: argparse.Namespace) -> int:
    from whyk8s.k8s.guard import connect
    from whyk8s.k8s.nodes import node_table
    cluster = connect(create_namespace=False)
    print(f"context: {cluster.context}   API server: {cluster.api.configuration.host}")
    print(node_table(cluster).to_string(index=False))
    return 0


def _up(args: argparse.Namespace) -> int:
    from whyk8s.cluster.providers import get_provider
    from whyk8s.cluster.kind import NodeImageUnavailable
    provider = get_provider(args.provider)
    started = time.monotonic()
    try:
        provider.up()
    except NodeImageUnavailable as exc:
        if args.provider != "auto":
            raise
        print(f"{exc}\nUsing the kwok cluster instead (--provider auto).")
        provider = get_provider("kwok")
        provider.up()
    print(f"The course cluster is up ({provider.name}, context {provider.context}) "
          f"in {time.monotonic() - started:.0f} s.")
    if provider.name == "kwok":
        print("Note: kwok simulates the nodes: pods are scheduled and reach Running, but no container runs.")
    return _status(args)


def _stop(args: argparse.Namespace) -> int:
    from whyk8s.cluster.providers import get_provider, guard
    provider = get_provider(args.provider)
    guard(provider)  # before even asking whether it exists
    existed = provider.exists()
    provider.stop()  # says so itself when there is no cluster
    if existed:
        print(f"The course cluster is stopped ({provider.name}); `whyk8s cluster up` starts it again.")
    return 0


def _down(args: argparse.Namespace) -> int:
    from whyk8s.cluster.providers import cluster_name, get_provider, guard
    provider = get_provider(args.provider)
    guard(provider)  # before even asking whether it exists
    existed = provider.exists()
    provider.down()
    print(f"The course cluster is deleted ({provider.name}, context {provider.context})." if existed else
          f"There was no {provider.name} cluster {cluster_name()}: nothing to delete.")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from whyk8s.cluster.doctor import failed, format_checks, run_checks
    checks = run_checks()
    print(format_checks(checks))
    return 1 if failed(checks) else 0


def _clean(args: argparse.Namespace) -> int:
    from whyk8s.k8s.guard import connect
    from whyk8s.k8s.objects import cleanup
    counts = cleanup(connect(create_namespace=False))
    print("Deleted: " + (", ".join(f"{n} {k}" for k, n in counts.items()) or "nothing"))
    return 0


def _render_kind(args: argparse.Namespace) -> int:
    from whyk8s.cluster.layout import render_kind_config
    sys.stdout.write(render_kind_config())
    return 0


def _cp_build(args: argparse.Namespace) -> int:
    from whyk8s.cluster import controlplane
    controlplane.build()
    return 0


def _cp_path(args: argparse.Namespace) -> int:
    from whyk8s.cluster import controlplane
    print(controlplane.cache_dir())
    return 0


def _cp_pin(args: argparse.Namespace) -> int:
    from whyk8s.cluster import controlplane
    controlplane.pin_kubernetes()
    return 0


def _kueue_up(args: argparse.Namespace) -> int:
    from whyk8s.cluster import kueue
    print(kueue.start())
    return 0


def _kueue_down(args: argparse.Namespace) -> int:
    from whyk8s.cluster import kueue
    kueue.stop()
    print(kueue.status())
    return 0


def _kueue_status(args: argparse.Namespace) -> int:
    from whyk8s.cluster import kueue
    print(kueue.status())
    return 0


def _kueue_build(args: argparse.Namespace) -> int:
    from whyk8s.cluster import kueue
    print(kueue.build())
    return 0


def _karpenter_up(args: argparse.Namespace) -> int:
    from whyk8s.cluster import karpenter
    print(karpenter.start())
    return 0


def _karpenter_down(args: argparse.Namespace) -> int:
    from whyk8s.cluster import karpenter
    karpenter.stop()
    print(karpenter.status())
    return 0


def _karpenter_status(args: argparse.Namespace) -> int:
    from whyk8s.cluster import karpenter
    print(karpenter.status())
    return 0


def _karpenter_build(args: argparse.Namespace) -> int:
    from whyk8s.cluster import karpenter
    print(karpenter.build())
    return 0


def _kind_docker(args: argparse.Namespace) -> int:
    from whyk8s.cluster import docker
    docker.ensure_docker()
    return 0


def _kind_node_image(args: argparse.Namespace) -> int:
    from whyk8s.cluster import nodeimage
    print(nodeimage.build(force=args.force))
    return 0


def _kind_images(args: argparse.Namespace) -> int:
    from whyk8s.cluster import nodeimage
    print("\n".join(nodeimage.COURSE_IMAGES))
    return 0


def _ws_up(args: argparse.Namespace) -> int:
    from whyk8s.cluster import workshop
    res = workshop.up(args.participants, hours=args.hours, context=args.context, hub_url=args.hub_url,
                      server=args.server, out=args.out, renew=args.renew, gpu_nodes=args.gpu_nodes,
                      highmem_nodes=args.highmem_nodes, gpus_per_participant=args.gpus_per_participant)
    q = res.quota
    print(f"Workshop on {res.context}: {len(res.participants)} participants "
          f"({res.participants[0]} … {res.participants[-1]}); objects " +
          ", ".join(f"{n} {k}" for k, n in res.changes.items()) + ".")
    print(f"Each participant's quota (requests): {q.cpu_millis}m CPU, {q.memory_bytes / 2**30:.1f} GiB memory, "
          f"{q.pods} pods, {q.gpus} nvidia.com/gpu, {q.claims} DRA ResourceClaims.")
    for what, nodes in (("GPU", res.gpu_nodes), ("high-memory", res.highmem_nodes)):
        if nodes:
            print(f"Extra {what} nodes: {len(nodes)} ({nodes[0]} … {nodes[-1]}).")
    for sentence in res.misfits:
        print(f"Does not fit: {sentence}")
    print(f"New tokens ({args.hours} h): {len(res.tokens)}. Kubeconfigs in {res.folder} "
          f"(one per participant, readable by you only). Next: start the hub (`sudo make hub "
          f"HUB_ARGS=\"--ip 0.0.0.0\"`), then `whyk8s workshop cards --hub-url http://<this machine's address>:8000/`.")
    return 0


def _ws_dashboard(args: argparse.Namespace) -> int:
    from whyk8s.cluster import dashboard
    return dashboard.serve(port=args.port, context=args.context, ip=args.ip, lab_args=tuple(args.lab_args.split()))


def _ws_status(args: argparse.Namespace) -> int:
    from whyk8s.cluster import workshop
    if args.watch:
        return _ws_status_watch(args)
    from whyk8s.cluster import dashboard
    rows = workshop.status_rows(context=args.context, stuck_after=args.stuck_after)
    print(dashboard.narrow_frame(rows).to_string(index=False) if rows else "No workshop is up on this cluster.")
    if args.rights:
        print(f"\nRights of {args.rights} (kubectl auth can-i --as={workshop.user_of(args.rights)}):")
        print(workshop.participant_rights(args.rights, context=args.context, other=args.other).to_string(index=False))
    return 0


def _ws_status_watch(args: argparse.Namespace) -> int:
    """The status table, printed again (on a cleared screen when the output is a terminal) when a row
    changed: the watches' changes are looked at at most once a second, and every 15 s for the stuck
    column (it depends on the time); nothing is printed while no row changes. Until Ctrl-C."""
    import threading
    from whyk8s.cluster import dashboard, workshop
    changed = threading.Event()
    room = dashboard.Room(workshop._connect(args.context), on_change=changed.set,
                          on_error=lambda sentence: print(f"⚠ {sentence} (the view resyncs by itself)", flush=True),
                          stuck_after=args.stuck_after)
    shown = None
    try:
        while True:
            changed.clear()
            rows = room.rows()
            text = dashboard.narrow_frame(rows).to_string(index=False) if rows else "No workshop is up on this cluster."
            if text != shown:
                shown = text
                clear = "\033[2J\033[H" if sys.stdout.isatty() else ""
                print(f"{clear}{time.strftime('%H:%M:%S')}  (live, printed when a row changes; Ctrl-C to stop)")
                print(text, flush=True)
            changed.wait(15)
            time.sleep(1)
    except KeyboardInterrupt:
        return 0
    finally:
        room.stop()


def _ws_cards(args: argparse.Namespace) -> int:
    from whyk8s.cluster import workshop
    print(f"Cards: {workshop.write_cards(context=args.context, out=args.out, hub_url=args.hub_url)} "
          f"(open it in a browser and print: one card per page).")
    return 0


def _ws_reset(args: argparse.Namespace) -> int:
    from whyk8s.cluster import workshop
    counts = workshop.reset(args.participant, context=args.context, progress=args.progress)
    print(f"{args.participant}: deleted " + (", ".join(f"{n} {k}" for k, n in counts.items()) or "nothing") + ".")
    return 0


def _ws_down(args: argparse.Namespace) -> int:
    from whyk8s.cluster import workshop
    gone = workshop.down(context=args.context, out=args.out)
    print(f"Deleted {len(gone)} workshop objects (and the participants' namespaces with all in them), "
          f"kubeconfigs and cards.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: each command sets ``func``, the function that runs it (returns the exit code)."""
    parser = argparse.ArgumentParser(prog="whyk8s", description="The course cluster of 'Why Kubernetes?'.")
    sub = parser.add_subparsers(dest="group", required=True)

    cl = sub.add_parser("cluster", help="bring the course cluster up or down, check it")
    csub = cl.add_subparsers(dest="action", required=True)
    for name, func, text in (("up", _up, "create (or restart) the course cluster and make its context current"),
                             ("stop", _stop, "stop the course cluster, keeping it (`up` starts it again)"),
                             ("down", _down, "delete the course cluster")):
        p = csub.add_parser(name, help=text)
        p.add_argument("--provider", choices=PROVIDERS, default="auto")
        p.set_defaults(func=func)
    csub.add_parser("status", help="show the context and the nodes").set_defaults(func=_status)
    csub.add_parser("doctor", help="check Docker, kind, kubectl, memory, inotify, Go, context, cluster "
                                   "(exit 1 when a check fails)").set_defaults(func=_doctor)
    csub.add_parser("clean", help="delete every object the course created (label part-of=whyk8s)"
                    ).set_defaults(func=_clean)
    csub.add_parser("render-kind", help="print clusters/kind.yaml as generated from clusters/layout.yaml"
                    ).set_defaults(func=_render_kind)

    cp = sub.add_parser("controlplane", help="build the kwok provider's binaries from the Go module proxy")
    cpsub = cp.add_subparsers(dest="action", required=True)
    cpsub.add_parser("build", help="build missing binaries into the cache").set_defaults(func=_cp_build)
    cpsub.add_parser("path", help="print the cache folder").set_defaults(func=_cp_path)
    cpsub.add_parser("pin", help="(maintainers) regenerate clusters/controlplane/kubernetes/go.mod"
                     ).set_defaults(func=_cp_pin)

    kq = sub.add_parser("kueue", help="(kwok) Kueue, the job-queueing controller, as a local process")
    qsub = kq.add_subparsers(dest="action", required=True)
    qsub.add_parser("up", help="build if needed, install Kueue and start its manager").set_defaults(func=_kueue_up)
    qsub.add_parser("down", help="stop Kueue and remove all it installed").set_defaults(func=_kueue_down)
    qsub.add_parser("status", help="whether Kueue runs, its CRDs, webhooks and ports"
                    ).set_defaults(func=_kueue_status)
    qsub.add_parser("build", help="build Kueue's manager into the cache").set_defaults(func=_kueue_build)

    kp = sub.add_parser("karpenter", help="(kwok) Karpenter, the node autoscaler, with its kwok provider, "
                                          "as a local process")
    psub = kp.add_subparsers(dest="action", required=True)
    psub.add_parser("up", help="build if needed, install Karpenter's CRDs and start it"
                    ).set_defaults(func=_karpenter_up)
    psub.add_parser("down", help="stop Karpenter and remove all it installed and every Node it made"
                    ).set_defaults(func=_karpenter_down)
    psub.add_parser("status", help="whether Karpenter runs, its NodePools, NodeClaims and Nodes"
                    ).set_defaults(func=_karpenter_status)
    psub.add_parser("build", help="build Karpenter with its kwok provider into the cache"
                    ).set_defaults(func=_karpenter_build)

    kd = sub.add_parser("kind", help="the kind route on a machine without a registry: Docker, node image")
    ksub = kd.add_subparsers(dest="action", required=True)
    ksub.add_parser("docker", help="(root) start Docker if needed, with the runtime this machine needs"
                    ).set_defaults(func=_kind_docker)
    ni = ksub.add_parser("node-image", help="build the kind node image and the course's images here")
    ni.add_argument("--force", action="store_true", help="rebuild even if the images exist")
    ni.set_defaults(func=_kind_node_image)
    ksub.add_parser("images", help="list the images the course runs").set_defaults(func=_kind_images)

    ws = sub.add_parser("workshop", help="one cluster, many learners: namespaces, rights, quotas, kubeconfigs")
    wsub = ws.add_subparsers(dest="action", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--context", help="the instructor's kubeconfig context (default: the current one; "
                                          "another cluster than the course's needs WHYK8S_ALLOW_CONTEXT=<it>)")
    common.add_argument("--out", help="folder of the kubeconfigs and cards (default ~/.whyk8s/workshop/<context>)")
    p = wsub.add_parser("up", parents=[common], help="prepare N participants (running it again changes nothing)")
    p.add_argument("--participants", type=int, required=True, help="how many participants (p01, p02, …)")
    p.add_argument("--hours", type=float, default=4.0, help="the workshop's length: the tokens' lifetime (4)")
    p.add_argument("--hub-url", help="the hub's address, printed and as a QR code on the cards")
    p.add_argument("--server", help="API server URL written in the participants' kubeconfigs "
                                    "(default: the instructor's)")
    p.add_argument("--renew", action="store_true", help="give every participant a new token")
    p.add_argument("--gpu-nodes", type=int, metavar="K",
                   help="kwok course cluster only: make exactly K extra simulated GPU nodes like the layout's "
                        "(4 GPUs each, its pool label and taint; `down` removes them). Default: the sizing rule, "
                        "K = ceil((N+1)/4) - 1, so that every participant and you hold one GPU at once (20: 5)")
    p.add_argument("--gpus-per-participant", type=int, default=9, metavar="G",
                   help="each participant's requests.nvidia.com/gpu quota (9: an 8-GPU pod that stays Pending, "
                        "as chapters 3, 4a and lab 4 teach, beside one running GPU pod; 1 caps everyone at one "
                        "GPU but the quota then refuses those 8-GPU pods and lab 4's second check fails)")
    p.add_argument("--highmem-nodes", type=int, metavar="H",
                   help="kwok course cluster only: make exactly H extra simulated high-memory nodes like the "
                        "layout's (256 GiB: two of chapter 4a's 96 GiB preprocessing pods each). Default: the "
                        "sizing rule, H = ceil((N+1)/2) - 1 (20 participants: 10). Sizing rule of the quota: "
                        "90%% of the layout's workers' CPU and pods / N, memory the same but at least 104 GiB "
                        "on kwok, 9 nvidia.com/gpu each. On kind or another cluster no node is added and `up` "
                        "prints what does not fit")
    p.set_defaults(func=_ws_up)
    p = wsub.add_parser("status", parents=[common], help="per participant: token expiry, pods by phase, quota used")
    p.add_argument("--rights", metavar="P", help="also show participant P's rights (kubectl auth can-i)")
    p.add_argument("--other", metavar="Q", help="with --rights: also P's rights in participant Q's namespace")
    p.add_argument("--watch", action="store_true", help="keep the table live (from watches) until Ctrl-C")
    p.add_argument("--stuck-after", type=float, default=300.0, metavar="SECONDS",
                   help="a participant whose check (never passed) fails for longer than this many seconds, "
                        "with no other check of theirs run since, is stuck (300, as the widget's stuck_after)")
    p.set_defaults(func=_ws_status)
    p = wsub.add_parser("cards", parents=[common], help="write printable HTML cards, one per page")
    p.add_argument("--hub-url", help="the hub's address (default: the one given to `up`)")
    p.set_defaults(func=_ws_cards)
    p = wsub.add_parser("reset", parents=[common], help="empty one participant's namespace of what they made "
                                                        "(all but what `up` made there)")
    p.add_argument("participant", help="e.g. p07")
    p.add_argument("--progress", action="store_true", help="also clear their lab-check record (the dashboard "
                                                          "then shows no check of theirs)")
    p.set_defaults(func=_ws_reset)
    wsub.add_parser("down", parents=[common], help="delete everything `up` made").set_defaults(func=_ws_down)
    p = wsub.add_parser("dashboard", parents=[common],
                        help="the instructor's live dashboard in a browser: a JupyterLab of yours on 127.0.0.1")
    p.add_argument("--port", type=int, default=8890, help="where it listens (8890; the hub has 8000)")
    p.add_argument("--ip", default="127.0.0.1", help="its address (127.0.0.1: this machine only; use ssh -L "
                                                     "from a laptop)")
    p.add_argument("--lab-args", default="", help="more JupyterLab options, space-separated (--lab-args=\"--a=1 --b\")")
    p.set_defaults(func=_ws_dashboard)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` (default: the process's arguments); return its exit code: 0, 1 when
    it failed or was refused (one sentence on stderr), 2 for a usage error (argparse's)."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Exception as exc:  # noqa: BLE001 - every failure reaches the user as one sentence
        print(f"whyk8s: {explain(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
