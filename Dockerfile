# syntax=docker/dockerfile:1
# One image, two entrypoints: plb-operator (the chart's Deployment, non-root) and plb-agent (the LB pods the
# operator creates; privileged, root). Build:  docker build -t portable-lb:dev .
# Both stages use the same Node major and Debian release as CI (Node 20, bookworm), so the N-API addon is built
# against the libbpf it loads at run time.
ARG NODE_VERSION=20
ARG DEBIAN_RELEASE=bookworm

FROM node:${NODE_VERSION}-${DEBIAN_RELEASE} AS build
# What hack/install-dataplane-deps.sh installs for the build: clang/llvm for the BPF objects, libbpf/libelf/zlib
# headers and a C++ toolchain for the addon. Test-only tools (nginx, wrk, iptables, bpftool) stay out.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      clang llvm libbpf-dev libelf-dev zlib1g-dev pkg-config make g++ python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first: this layer is reused until package-lock.json changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY hack/build-dataplane.sh ./hack/build-dataplane.sh
RUN npx tsc -p tsconfig.build.json \
 && bash hack/build-dataplane.sh \
 && chmod +x dist/src/operator/main.js dist/src/agent/main.js \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="portable-lb" \
      org.opencontainers.image.description="portable-lb operator and agent: one software load balancer (XDP/eBPF, IPVS, nftables) inside any Kubernetes cluster" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/portable-lb/portable-lb" \
      org.opencontainers.image.base.name="node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim"
COPY hack/image-runtime-packages.txt /tmp/packages.txt
RUN apt-get update \
 && grep -v '^#' /tmp/packages.txt | xargs env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/packages.txt \
 && groupadd --system --gid 65532 plb \
 && useradd --system --uid 65532 --gid plb --no-create-home --shell /usr/sbin/nologin plb
WORKDIR /opt/portable-lb
# The package layout the code expects: package.json marks the root the agent finds build/dataplane/ from.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/build/dataplane ./build/dataplane
# The package.json bin entries, on PATH (node resolves the symlinks, so imports stay relative to /opt).
RUN ln -s /opt/portable-lb/dist/src/operator/main.js /usr/local/bin/plb-operator \
 && ln -s /opt/portable-lb/dist/src/agent/main.js /usr/local/bin/plb-agent
# Non-root by default: the operator runs as the plb user. The LB pods the operator creates
# (src/operator/desired.ts) ask for root explicitly (privileged, runAsUser: 0), because they program the kernel.
USER 65532
ENV NODE_ENV=production
# 8080: the operator's /healthz /readyz /metrics; 9095: the agent's (AGENT_HEALTH_PORT in src/api/constants.ts).
EXPOSE 8080 9095
ENTRYPOINT []
CMD ["plb-operator"]
