# proxynode container image.
#
#   docker build -t proxynode:0.1.0 .
#   docker run --rm -p 8080:8080 proxynode:0.1.0
#
# Stage "build" uses the project's own scripts, the ones CI runs: scripts/install-deps.sh
# for the packages and scripts/build.sh for the build (tests left out). Stage "runtime" is
# debian:12-slim with only the shared libraries the binaries load (install-deps.sh
# --runtime, whose RUNTIME_PACKAGES scripts/check-image-deps.sh checks against `ldd`), run
# as uid 10001.
#
# Ports: 8080 HTTP, 9901 admin (/healthz /readyz /metrics), 9090 control (gRPC). The
# ENTRYPOINT binds all three on every interface (the node's own defaults keep admin and
# control on 127.0.0.1). The CMD is the config file flag: Kubernetes mounts the ConfigMap
# over /etc/proxynode/config, and without a mount the copy of k8s/base/proxynode.textproto
# baked in below is used. Arguments given to `docker run` or in a pod's `args` replace the
# CMD, so pass --config again along with them.

FROM debian:12 AS build
WORKDIR /src
# The package layer first, so that it stays cached until the package list changes.
COPY scripts/install-deps.sh scripts/
RUN scripts/install-deps.sh --build && rm -rf /var/lib/apt/lists/*
COPY . .
# The build type CI builds and tests (build.sh's default), so CI proves this step; the debug
# info stays in the binaries, for core dumps and profilers.
ARG BUILD_TYPE=RelWithDebInfo
# The commit the binaries report (`proxynode --version`, /metrics): the build context leaves
# .git out, so give it, e.g. --build-arg PROXYNODE_COMMIT=$(git rev-parse --short=12 HEAD);
# without it, "unknown".
ARG PROXYNODE_COMMIT=
RUN BUILD_DIR=build BUILD_TYPE=$BUILD_TYPE scripts/build.sh -DPROXYNODE_BUILD_TESTS=OFF \
    -DPROXYNODE_COMMIT=$PROXYNODE_COMMIT

FROM debian:12-slim AS runtime
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN /tmp/install-deps.sh --runtime \
    && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh \
    && groupadd --gid 10001 proxynode \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin proxynode
COPY --from=build /src/build/controlplane/proxynode /src/build/cli/proxyctl /usr/local/bin/
COPY k8s/base/proxynode.textproto /etc/proxynode/config/proxynode.textproto
USER 10001:10001
EXPOSE 8080 9901 9090
ENTRYPOINT ["/usr/local/bin/proxynode", "--http_listen=0.0.0.0:8080", "--admin_listen=0.0.0.0:9901", "--control_listen=0.0.0.0:9090"]
CMD ["--config=/etc/proxynode/config/proxynode.textproto"]
