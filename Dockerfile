# syntax=docker/dockerfile:1
# dmbridge as a container image: compiled with the dev dependencies, run with the production dependencies only.
#   docker build -t dmbridge .
#   docker run -v ./dmbridge.yaml:/config/dmbridge.yaml:ro -v dmbridge-data:/data --env-file dmbridge.env -p 8080:8080 dmbridge
# Nothing is downloaded when the container starts: the start command is node on the files copied in here.
# docs/deploying.md ("Running as a service") explains each choice; compose.yaml runs it with PostgreSQL.
ARG NODE_VERSION=20.20.2

# ---- build: TypeScript compiled with the dev dependencies ----
FROM node:${NODE_VERSION}-bookworm-slim AS build
# better-sqlite3 is compiled from its source, never downloaded as a prebuilt binary.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
ENV npm_config_build_from_source=true
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bench ./bench
COPY test ./test
RUN npm run build

# ---- production dependencies: exactly the lockfile's, without the dev dependencies ----
FROM node:${NODE_VERSION}-bookworm-slim AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
ENV npm_config_build_from_source=true
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# ---- run: no compiler, no dev dependencies, not root ----
FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production \
    DMBRIDGE_CONFIG=/config/dmbridge.yaml \
    DMBRIDGE_HEALTHCHECK_URL=http://127.0.0.1:8080/healthz
RUN groupadd --system --gid 10001 dmbridge \
 && useradd --system --uid 10001 --gid dmbridge --home-dir /app --no-create-home --shell /usr/sbin/nologin dmbridge \
 && mkdir -p /data /config \
 && chown dmbridge:dmbridge /data
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
USER 10001:10001
# The SQLite store (store: sqlite:/data/dmbridge.db) lives here; with a postgres:// store nothing is written.
VOLUME ["/data"]
EXPOSE 8080
# Liveness only: /healthz answers while the process serves. Change DMBRIDGE_HEALTHCHECK_URL with server.port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.DMBRIDGE_HEALTHCHECK_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Any dmbridge command runs as `docker run dmbridge <command>`; DMBRIDGE_CONFIG gives them all the same file.
ENTRYPOINT ["node", "/app/dist/src/entry/cli.js"]
CMD ["serve", "--config", "/config/dmbridge.yaml"]
