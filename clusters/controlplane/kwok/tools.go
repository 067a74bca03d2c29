// Package tools pins sigs.k8s.io/kwok so that `go build` can build kwok and
// kwokctl with the versions recorded in this module's go.sum. It is never run.
//go:build tools

package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
	_ "sigs.k8s.io/kwok/cmd/kwokctl"
)
