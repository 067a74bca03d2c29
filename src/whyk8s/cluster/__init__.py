"""The course cluster's machinery: ``layout`` (the node layout), ``providers`` (what the providers
share: running their commands through the guard, the kubeconfig's current context, the choice of
provider), ``kind`` and ``kwok`` (one provider each), ``workers`` (putting the layout's workers back),
``controlplane`` (the Go build of the kwok provider's binaries) and ``doctor`` (the checks). Lessons
import only ``workers``; they never start or stop a cluster."""
