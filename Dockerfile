# syntax=docker/dockerfile:1
# One image, two entrypoints: plb-operator (the chart's Deployment, non-root) and plb-agent (the LB pods the
# operator creates: uid 0 with only its data plane's capabilities). Build:  docker build -t portable-lb:dev .
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
COPY hack/build-dataplane.sh hack/bundle-operator.mjs ./hack/
RUN npx tsc -p tsconfig.build.json \
 && node hack/bundle-operator.mjs \
 && bash hack/build-dataplane.sh \
 && chmod +x dist/operator/main.mjs dist/src/agent/main.js \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="portable-lb" \
      org.opencontainers.image.description="portable-lb operator and agent: one software load balancer (XDP/eBPF, IPVS, nftables) inside any Kubernetes cluster" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/portable-lb/portable-lb" \
      org.opencontainers.image.base.name="node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim"
# hack/image-contents.txt is the one list of what this stage holds (hack/image-rootfs.sh builds the same root
# filesystem from it without a container engine); test/unit/packaging/ checks the lines below against it.
COPY hack/image-contents.txt /tmp/image-contents.txt
RUN apt-get update \
 && awk '$1 == "package" { print $2 }' /tmp/image-contents.txt \
    | xargs env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 65532 plb \
 && useradd --system --uid 65532 --gid plb --no-create-home --shell /usr/sbin/nologin plb
WORKDIR /opt/portable-lb
COPY --from=build /src/package.json /opt/portable-lb/package.json
COPY --from=build /src/node_modules /opt/portable-lb/node_modules
COPY --from=build /src/dist/src /opt/portable-lb/dist/src
COPY --from=build /src/dist/operator /opt/portable-lb/dist/operator
COPY --from=build /src/build/dataplane /opt/portable-lb/build/dataplane
RUN awk '$1 == "link" { print $3, $2 }' /tmp/image-contents.txt | xargs -n 2 ln -s \
 && rm /tmp/image-contents.txt
# Non-root by default: the operator runs as the plb user. The LB pods the operator creates ask for uid 0
# explicitly, with all capabilities dropped but their data plane's (src/operator/class/security.ts).
USER 65532
ENV NODE_ENV=production
EXPOSE 8080/tcp 9095/tcp
ENTRYPOINT []
CMD ["plb-operator"]
