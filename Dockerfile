# Multi-stage: build the single executable with Bun, run it as a non-root user on a slim glibc base.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json bunfig.toml ./
COPY src ./src
RUN npm run build

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home switchboard \
 && mkdir -p /var/lib/switchboard && chown switchboard /var/lib/switchboard
COPY --from=build /src/dist/switchboard /usr/local/bin/switchboard
USER switchboard
# The default store (sqlite://./switchboard.db) lives here; mount a volume to keep keys and usage across containers.
WORKDIR /var/lib/switchboard
VOLUME /var/lib/switchboard
ENV NODE_ENV=production
EXPOSE 8080
# Listening on 0.0.0.0 requires keys in the config (the gateway refuses otherwise): mount one and point at it.
ENTRYPOINT ["/usr/local/bin/switchboard"]
CMD ["--config", "/etc/switchboard/switchboard.yaml", "--host", "0.0.0.0"]
