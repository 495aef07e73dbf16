# syntax=docker/dockerfile:1.7
#
# ibkr-mcp: MCP host for the Interactive Brokers TWS API, with its bundled WebAssembly plugins.
#
#   docker build -t ibkr-mcp .
#   docker run --rm -p 8000:8000 ibkr-mcp --sim                      # simulator (paper gateway)
#   docker run --rm -p 8000:8000 --add-host host.docker.internal:host-gateway \
#       -e TWS_HOST=host.docker.internal -e TWS_PORT=4002 ibkr-mcp   # real IB Gateway (paper)
#
# Or use docker-compose.yml (services `ibkr-mcp` and, with `--profile sim`, `ibkr-mcp-sim`).

ARG RUST_VERSION=1.95

# ---------------------------------------------------------------------------------------------
# Builder: the native host (release) and the guest plugins (wasm32-wasip2 components).
FROM rust:${RUST_VERSION}-slim-bookworm AS builder
WORKDIR /src
RUN rustup target add wasm32-wasip2

# Build inputs only (see .dockerignore); the cache mounts keep the registry and target dirs
# between builds, so the binaries are copied out in the same RUN step.
COPY Cargo.toml Cargo.lock ./
COPY sim ./sim
COPY host ./host
COPY tests ./tests
COPY wit ./wit
COPY plugins ./plugins
COPY scripts ./scripts

# PY_PLUGIN=1 also builds the Python plugin (needs componentize-py from PyPI in the builder).
ARG PY_PLUGIN=0
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    --mount=type=cache,target=/src/plugins/target \
    set -eux; \
    cargo build --release --locked -p ibkr-mcp --bin ibkr-mcp; \
    PY_PLUGIN="${PY_PLUGIN}" ./scripts/build-plugins.sh /out/plugins; \
    rm -rf /out/plugins/tests; \
    install -D -m 0755 target/release/ibkr-mcp /out/bin/ibkr-mcp

# ---------------------------------------------------------------------------------------------
# Runtime: slim Debian, non-root, only the binary, the plugins and a default config.
FROM debian:bookworm-slim AS runtime
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl; \
    rm -rf /var/lib/apt/lists/*; \
    groupadd --system --gid 10001 ibkr; \
    useradd --system --uid 10001 --gid ibkr --home-dir /var/lib/ibkr-mcp --shell /usr/sbin/nologin ibkr; \
    install -d -o ibkr -g ibkr -m 0750 /var/lib/ibkr-mcp /var/cache/ibkr-mcp

COPY --from=builder /out/bin/ibkr-mcp /usr/local/bin/ibkr-mcp
COPY --from=builder /out/plugins /opt/ibkr-mcp/plugins
COPY docker/config.toml /etc/ibkr-mcp/config.toml

# Environment variables override the TOML file; CLI flags override both.
# TWS 7496 live / 7497 paper; IB Gateway 4001 live / 4002 paper.
ENV IBKR_MCP_CONFIG=/etc/ibkr-mcp/config.toml \
    SERVER_HOST=0.0.0.0 \
    SERVER_PORT=8000 \
    API_PREFIX=/api/v1 \
    TWS_HOST=host.docker.internal \
    TWS_PORT=4002 \
    TWS_CLIENT_ID=1 \
    LOG_LEVEL=info

USER ibkr:ibkr
WORKDIR /var/lib/ibkr-mcp
EXPOSE 8000

# Liveness: GET /health (readiness with the TWS connection state is GET /ready).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${SERVER_PORT}/health" >/dev/null || exit 1

# The host shuts down gracefully on SIGINT (Ctrl-C).
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/ibkr-mcp"]
CMD []
