"""The ``whyk8s`` command: ``whyk8s cluster up | down | status | doctor``.

Examples::

    whyk8s cluster up                 # kind if Docker and kind are there, else kwok
    whyk8s cluster up --provider kwok # real control plane, simulated nodes
    whyk8s cluster status
    whyk8s cluster doctor
    whyk8s cluster clean              # delete everything the course created
    whyk8s cluster down
"""

from __future__ import annotations

import argparse
import sys
import time

__all__ = ["main"]


def _status() -> int:
    from whyk8s.errors import explain
    from whyk8s.k8s.guard import connect
    from whyk8s.k8s.nodes import node_table
    try:
        cluster = connect(create_namespace=False)
        print(f"context: {cluster.context}   API server: {cluster.api.configuration.host}")
        print(node_table(cluster).to_string(index=False))
    except Exception as exc:
        print(explain(exc), file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="whyk8s", description="The course cluster of 'Why Kubernetes?'.")
    sub = parser.add_subparsers(dest="group", required=True)
    cl = sub.add_parser("cluster", help="bring the course cluster up or down, check it")
    csub = cl.add_subparsers(dest="action", required=True)
    up = csub.add_parser("up", help="create (or restart) the course cluster")
    up.add_argument("--provider", choices=["auto", "kind", "kwok"], default="auto")
    stop = csub.add_parser("stop", help="stop the course cluster, keeping it (`up` starts it again)")
    stop.add_argument("--provider", choices=["auto", "kind", "kwok"], default="auto")
    down = csub.add_parser("down", help="delete the course cluster")
    down.add_argument("--provider", choices=["auto", "kind", "kwok"], default="auto")
    csub.add_parser("status", help="show the context and the nodes")
    csub.add_parser("doctor", help="check Docker, kind, kubectl, memory, inotify, Go, context")
    csub.add_parser("clean", help="delete every object the course created (label part-of=whyk8s)")
    csub.add_parser("render-kind", help="print clusters/kind.yaml as generated from clusters/layout.yaml")
    cp = sub.add_parser("controlplane", help="build the kwok provider's binaries from the Go module proxy")
    cpsub = cp.add_subparsers(dest="action", required=True)
    cpsub.add_parser("build", help="build missing binaries into the cache")
    cpsub.add_parser("path", help="print the cache folder")
    cpsub.add_parser("pin", help="(maintainers) regenerate clusters/controlplane/kubernetes/go.mod")
    args = parser.parse_args(argv)

    from whyk8s.errors import explain
    try:
        if args.group == "controlplane":
            from whyk8s.cluster import controlplane
            if args.action == "build":
                controlplane.build()
            elif args.action == "path":
                print(controlplane.cache_dir())
            else:
                controlplane.pin_kubernetes()
            return 0
        if args.action == "up":
            from whyk8s.cluster.providers import get_provider
            provider = get_provider(args.provider)
            started = time.monotonic()
            provider.up()
            print(f"The course cluster is up ({provider.name}, context {provider.context}) "
                  f"in {time.monotonic() - started:.0f} s.")
            if provider.name == "kwok":
                print("Note: kwok simulates the nodes: pods are scheduled and reach Running, "
                      "but no container runs.")
            return _status()
        if args.action == "stop":
            from whyk8s.cluster.providers import get_provider
            provider = get_provider(args.provider)
            provider.stop()
            print(f"The course cluster is stopped ({provider.name}); `whyk8s cluster up` starts it again.")
            return 0
        if args.action == "down":
            from whyk8s.cluster.providers import get_provider
            provider = get_provider(args.provider)
            provider.down()
            return 0
        if args.action == "status":
            return _status()
        if args.action == "doctor":
            from whyk8s.cluster.doctor import format_checks, run_checks
            checks = run_checks()
            print(format_checks(checks))
            return 0
        if args.action == "clean":
            from whyk8s.k8s.guard import connect
            from whyk8s.k8s.objects import cleanup
            counts = cleanup(connect())
            print("Deleted: " + (", ".join(f"{n} {k}" for k, n in counts.items()) or "nothing"))
            return 0
        if args.action == "render-kind":
            from whyk8s.cluster.layout import render_kind_config
            sys.stdout.write(render_kind_config())
            return 0
    except Exception as exc:
        print(f"whyk8s: {explain(exc)}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
