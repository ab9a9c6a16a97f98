// Command localcluster runs a real, throw-away Kubernetes control plane on
// loopback for kro's tests: embedded etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler built from k8s.io/kubernetes,
// plus kwok for simulated nodes.
//
// It is one binary in the manner of the old hyperkube: `localcluster up`
// orchestrates, and re-executes itself as `localcluster kube-apiserver ...`
// (and so on) for each component. Each component gets a process of its own
// because the upstream commands install process-wide signal handlers, log
// configuration and feature-gate registries that may be set up only once.
package main

import (
	"fmt"
	"os"

	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

const usage = `usage:
  localcluster up [flags]                   start a control plane; see 'localcluster up -h'
  localcluster dump-openapi -kubeconfig K -out DIR
                                            save the built-in groups' OpenAPI v3 documents
  localcluster kube-apiserver [flags]       run one component (used by 'up')
  localcluster kube-controller-manager [flags]
  localcluster kube-scheduler [flags]
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "up":
		os.Exit(up(os.Args[2:]))
	case "dump-openapi":
		os.Exit(dumpOpenAPI(os.Args[2:]))
	case componentAPIServer:
		os.Exit(runComponent(apiserver.NewAPIServerCommand()))
	case componentControllerManager:
		os.Exit(runComponent(controllermanager.NewControllerManagerCommand()))
	case componentScheduler:
		os.Exit(runComponent(scheduler.NewSchedulerCommand()))
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n%s", os.Args[1], usage)
		os.Exit(2)
	}
}
