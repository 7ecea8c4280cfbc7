# orcoursetrion: GitHub App server and CLI in a small runtime image.
#
#   docker build -t orcoursetrion .
#   docker run -p 8080:8080 -v orcoursetrion_data:/data orcoursetrion
#
# State lives in /data: the SQLite database and, after setup mode has
# registered the GitHub App, its .env and private key (the working directory
# is /data, where `orcoursetrion serve` looks for .env).

# ---- build ------------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /src

# Dependencies first, in a layer of their own that is rebuilt only when
# Cargo.toml or Cargo.lock change. Stub sources stand in for ours, and this
# copy of the manifest drops its test, bench and example targets (not built
# here), so their files need not be in the build context.
COPY Cargo.toml Cargo.lock ./
RUN awk '/^\[/ { skip = ($0 ~ /^\[\[(bench|test|example)\]\]/) } !skip' Cargo.toml > Cargo.build.toml \
 && mv Cargo.build.toml Cargo.toml \
 && mkdir -p src \
 && echo 'fn main() {}' > src/main.rs \
 && : > src/lib.rs \
 && cargo build --release --locked \
 && rm -rf src target/release/orcoursetrion* target/release/liborcoursetrion* \
        target/release/deps/orcoursetrion-* target/release/deps/liborcoursetrion-* \
        target/release/.fingerprint/orcoursetrion-*

# Our sources (the trimmed manifest above stays: it is the current one).
COPY app-manifest.yml ./
COPY migrations ./migrations
COPY src ./src
RUN cargo build --release --locked \
 && install -m 0755 target/release/orcoursetrion /usr/local/bin/orcoursetrion

# ---- runtime ----------------------------------------------------------------
FROM debian:bookworm-slim

# git (with HTTPS through libcurl) to seed course repositories;
# ca-certificates for TLS to GitHub. Nothing else.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 orc \
 && useradd --system --uid 10001 --gid orc --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin orc \
 && mkdir -p /data \
 && chown orc:orc /data \
 && chmod 0700 /data

COPY --from=builder /usr/local/bin/orcoursetrion /usr/local/bin/orcoursetrion

ENV PORT=8080 \
    ORC_LOG_FORMAT=json \
    ORC_DATABASE_URL=sqlite:///data/orcoursetrion.db \
    HOME=/data
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080

# No curl in the image: bash's /dev/tcp speaks just enough HTTP.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/\"${PORT:-8080}\" && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

# The server runs as orc (uid 10001), never as root. A volume that the
# platform mounts on /data root-owned (as managed platforms' volumes commonly
# are; Docker's named volumes copy the image's ownership instead) would be
# unwritable for orc, so when started as root the entrypoint hands /data to
# orc, then drops to orc with setpriv (util-linux, already in the image).
# Started as another user (docker run --user …), it just runs the command.
ENTRYPOINT ["/bin/sh", "-c", "if [ \"$(id -u)\" = 0 ]; then chown 10001:10001 /data && exec setpriv --reuid=10001 --regid=10001 --clear-groups -- \"$@\"; fi; exec \"$@\"", "orcoursetrion-entrypoint"]
CMD ["orcoursetrion", "serve"]
