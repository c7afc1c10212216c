# The Kubernetes example (examples/kubernetes): manifests, Dockerfile and the
# policies ConfigMap.
#
# Included by the main Makefile; paths are relative to the repository root.
# Standalone: make -f mk/kubernetes.mk kubernetes-check
#
#   kubernetes-check     vet and run examples/kubernetes/check: every manifest
#                        decoded strictly into the k8s.io/api types, the
#                        properties the README promises, the config file's
#                        keys against cmd/verdict/defaults.yaml, a lint of
#                        the Dockerfile; with build/verdict present, the
#                        ConfigMap's modules are also loaded by verdict inspect
#   kubernetes-policies  regenerate examples/kubernetes/policies.yaml from
#                        the C catalog-owner module (make sdks), sealed
#
# The check is its own Go module (k8s.io/api stays out of the main module's
# go.mod); after its first go mod download it runs offline. It needs Go 1.26
# (k8s.io/api v0.37 does). No Docker engine or cluster is used.

GO ?= go
KUBERNETES_DIR      := examples/kubernetes
KUBERNETES_VERDICT  ?= build/verdict
KUBERNETES_MODULE   ?= build/examples/c/catalog-owner.wasm

.PHONY: kubernetes-check kubernetes-policies

kubernetes-check:
	cd $(KUBERNETES_DIR)/check && GOWORK=off $(GO) vet ./...
	cd $(KUBERNETES_DIR)/check && VERDICT_BIN=$(if $(wildcard $(KUBERNETES_VERDICT)),$(abspath $(KUBERNETES_VERDICT))) \
		GOWORK=off $(GO) test -count=1 ./...

kubernetes-policies: $(KUBERNETES_MODULE) $(KUBERNETES_VERDICT)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT; \
	cp $(KUBERNETES_MODULE) "$$tmp/catalog-owner.wasm" && \
	$(KUBERNETES_VERDICT) seal "$$tmp/catalog-owner.wasm" >/dev/null && \
	{ sed -n '/^apiVersion:/q;p' $(KUBERNETES_DIR)/policies.yaml; \
	  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: verdict-policies\n  labels:\n    app.kubernetes.io/name: verdict\n    app.kubernetes.io/component: permission-backend\n'; \
	  printf 'binaryData:\n  catalog-owner.wasm: %s\n' "$$(base64 -w0 "$$tmp/catalog-owner.wasm")"; \
	} >"$$tmp/policies.yaml" && mv "$$tmp/policies.yaml" $(KUBERNETES_DIR)/policies.yaml
	@echo "kubernetes-policies: wrote $(KUBERNETES_DIR)/policies.yaml"
