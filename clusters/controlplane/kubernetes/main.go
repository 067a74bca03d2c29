// Package tools pins k8s.io/kubernetes so that `go build` can build the
// control-plane commands (kube-apiserver, kube-controller-manager,
// kube-scheduler, kubectl) and, for the kind route's node image, the node
// commands (kubelet, kubeadm, kube-proxy) from the Go module proxy. It is never run.
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
)
