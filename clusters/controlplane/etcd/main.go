// Command etcd is etcd's own server entry point (etcdmain), built from the
// Go module proxy because Debian's etcd is too old for kube-apiserver.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
