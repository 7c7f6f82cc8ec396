# Takeout: one image for the API (`takeout serve`, the default) and the workers
# (`takeout worker`). Multi-stage: the build stage has the compilers and dev dependencies;
# the runtime stage has only the built code and production dependencies, and runs as the
# unprivileged `node` user. See docs/operations.md#docker.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary matches the platform; the
# optional XLSX deflate addon (native/isal-deflate) builds against Intel ISA-L (libisal-dev).
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ libisal-dev \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY native ./native
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY web ./web
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    TAKEOUT_DATA_DIR=/data
WORKDIR /app
# The ISA-L runtime library for the XLSX deflate addon (without it, XLSX falls back to zlib).
RUN apt-get update \
  && apt-get install -y --no-install-recommends libisal2 \
  && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/native ./native
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The data directory (SQLite job store, disk files, the generated link secret) is the only
# place the process writes; with PostgreSQL + Redis + S3 it holds nothing that must be kept.
RUN install -d -m 0700 -o node -g node /data
USER node
VOLUME ["/data"]
EXPOSE 3000 9464
# Liveness: /healthz on the metrics port when there is one (workers), else on the API port.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.TAKEOUT_METRICS_PORT || process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--enable-source-maps", "dist/cli/main.js"]
CMD ["serve"]
