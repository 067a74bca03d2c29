// Package tools pins sigs.k8s.io/kueue so that `go build` can build Kueue's manager
// (cmd/kueue) with the versions recorded in this module's go.sum. It is never run.
//go:build tools

package tools

import (
	_ "sigs.k8s.io/kueue/cmd/kueue"
)
