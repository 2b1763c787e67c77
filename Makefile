# The two commands of the README: `make lab` (the main job on one machine, once the lab lands) and `make test`.
.PHONY: test unit deps build generate control-plane dataplane-demo

test: ## every test tier, installing what it needs first
	bash hack/test.sh

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
