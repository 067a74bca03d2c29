// Package tools pins sigs.k8s.io/karpenter so that `go build` can build Karpenter with its kwok cloud
// provider (sigs.k8s.io/karpenter/kwok, the reference provider) with the versions recorded in this
// module's go.sum. It is never run.
//go:build tools

package tools

import (
	_ "sigs.k8s.io/karpenter/kwok"
)
