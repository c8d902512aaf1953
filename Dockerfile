# syntax=docker/dockerfile:1
# Multi-stage build: compile TypeScript with the dev dependencies, ship only dist/ and production modules.
#
# Base image, pinned by digest: node:24-bookworm-slim (Node 24.18.0) for linux/amd64 and linux/arm64. Let
# Dependabot or Renovate (docker ecosystem) move the digest; check it with
# `docker buildx imagetools inspect node:24-bookworm-slim`. Any Debian-based image with Node >= 22.19 at
# /usr/local/bin/node, npm, and a `node` user of uid/gid 1000 works: scripts/build-image.sh builds this file
# without a Docker daemon or a registry, from a base it assembles (deploy/README.md, "Build the image").
ARG NODE_IMAGE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The `node` dev dependency (Node 24 for npm scripts) is not needed inside a Node 24 image. Behind a
# TLS-intercepting proxy, hand its CA to npm as a build secret (never stored in a layer):
#   docker build --secret id=extra_ca,src=/path/to/proxy-ca.pem .
RUN --mount=type=secret,id=extra_ca,target=/run/secrets/extra_ca \
    if [ -s /run/secrets/extra_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/extra_ca; fi; \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/copy-assets.mjs ./scripts/
RUN npx tsc -p tsconfig.build.json && node scripts/copy-assets.mjs && npm prune --omit=dev --ignore-scripts

FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="meterbridge" \
      org.opencontainers.image.description="OpenTelemetry-native usage metering for GPU clouds on Kubernetes" \
      org.opencontainers.image.source="https://github.com/meterbridge/meterbridge" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
# The state directory exists in the image and belongs to uid/gid 1000, so a fresh volume (Docker copies the
# directory's owner into it) and a read-only root file system both work. It is also the working directory:
# every state file whose default path is relative (the store, the alerts and Lago lifecycle state, the demo's
# store) lands on the volume, never in the read-only /app.
RUN mkdir -p /var/lib/meterbridge && chown 1000:1000 /var/lib/meterbridge && chmod 0750 /var/lib/meterbridge
WORKDIR /var/lib/meterbridge
# Non-root (the image's `node` user, uid 1000). The app files stay root-owned and read-only; the process
# writes only to the store volume and /tmp, so it runs with a read-only root file system (the Helm chart
# sets readOnlyRootFilesystem and mounts an emptyDir at /tmp).
USER 1000:1000
VOLUME ["/var/lib/meterbridge"]
EXPOSE 8888
# Heap flags measured by `npm run bench:scale` (docs/benchmarks.md): a smaller young generation and an old
# generation grown to 1.3 × the live heap keep RSS under 400 MB at 100k pods (652 MB without), window close
# p50 unchanged.
ENTRYPOINT ["node", "--max-semi-space-size=8", "--heap-growing-percent=30", "/app/bin/meterbridge.js"]
CMD ["run", "-c", "/etc/meterbridge/config.yaml"]
