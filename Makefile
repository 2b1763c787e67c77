# The two commands of the README: `make lab` (the main job on one machine) and `make test` (every test tier).
.PHONY: lab test unit e2e deps build generate control-plane dataplane-demo bench kernel-matrix

lab: ## the whole product on one machine: control plane, operator, agents in pod namespaces, traffic (root)
	bash hack/lab.sh $(ARGS)


test: ## every test tier, installing what it needs first
	bash hack/test.sh

e2e: ## the end-to-end suite on real nodes here (hack/cluster; root), or on kind with E2E_PROVIDER=kind (Docker)
	bash hack/e2e.sh $(ARGS)

unit: ## the pure tier only (no root, no network)
	NODE_OPTIONS=--experimental-vm-modules npx jest --selectProjects unit

deps: ## apt + npm packages and the control-plane binaries
	bash hack/install-deps.sh

build:
	npm run build && bash hack/build-dataplane.sh

generate: ## regenerate src/api/generated.ts from crds/
	npm run generate

control-plane:
	bash hack/build-control-plane.sh

dataplane-demo: ## the standalone agent balancing traffic in network namespaces (root)
	bash hack/dataplane-demo.sh

bench: ## data-plane ratios to a routed baseline and control-plane numbers -> docs/benchmarks, README (root; QUICK=1: CI smoke run into .tmp/bench)
	bash hack/bench.sh $(if $(QUICK),--quick)

kernel-matrix: ## the xdp, ipvs and nftables conformance suites under Debian 12's 6.1 kernel in qemu (root; ~35 min)
	bash hack/vm/bpf-load.sh
	bash hack/vm/conformance.sh ipvs,xdp,nftables
