// Package kubeconfig gives the Sealed Secrets controller a client configuration outside a cluster.
//
// Upstream's controller (pkg/controller/main.go, v0.40.0) only calls rest.InClusterConfig(), which needs a
// service-account token mounted into a Pod. The course runs the controller as a local process against the
// sandbox's kube-apiserver, so scripts/build_tools.sh patches one line of that file (KUBESEAL_PATCH in
// pins.env): its import of k8s.io/client-go/rest becomes an import of this package under the name `rest`.
// The one function that file calls, InClusterConfig, then reads the kubeconfig named by $KUBECONFIG and falls
// back to the real in-cluster configuration when $KUBECONFIG is empty, so the same binary still works in a Pod.
package kubeconfig

import (
	"os"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// InClusterConfig returns the configuration of the kubeconfig file in $KUBECONFIG (its current context), or
// rest.InClusterConfig() when $KUBECONFIG is not set.
func InClusterConfig() (*rest.Config, error) {
	path := os.Getenv(clientcmd.RecommendedConfigPathEnvVar)
	if path == "" {
		return rest.InClusterConfig()
	}
	return clientcmd.BuildConfigFromFlags("", path)
}
