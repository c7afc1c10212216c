// Package check tests the Kubernetes example in the directory above without a
// cluster or a Docker engine: every manifest is decoded strictly into the
// k8s.io/api types (unknown or misspelt fields fail), then checked for what
// the example's README promises (non-root, read-only root filesystem, probes
// on /healthz and /readyz, resources sized from the memory budget, the cache
// volume where VERDICT_POLICIES__CACHEDIR points, consistent labels); the
// config files are checked against cmd/verdict/defaults.yaml; the Dockerfile
// is linted (COPY sources, build flags, ENTRYPOINT, user, port).
//
// It is its own module so that k8s.io/api stays out of Verdict's go.mod:
//
//	cd examples/kubernetes/check && GOWORK=off go test ./...
//
// With VERDICT_BIN set to a built verdict binary (make kubernetes-check does
// this when build/verdict exists), the policies ConfigMap's modules are also
// loaded with `verdict inspect`.
package check
