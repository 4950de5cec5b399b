# weir's container image: built from this repository with the locked dependencies, run as a
# non-root user on a distroless base (glibc, CA certificates, no shell).
#
#   docker build -t weir:dev .        (or: podman build -t weir:dev .)
#   docker run --rm -p 4317:4317 -p 4318:4318 -p 8888:8888 \
#     -e WEIR_ADMIN_ENDPOINT=0.0.0.0:8888 weir:dev
#
# Without arguments it runs the default pipeline (examples/default.yaml, built in); mount a
# config and pass `run --config /etc/weir/weir.yaml` for another one (deploy/kubernetes/).

FROM docker.io/library/rust:1.95-bookworm AS build
WORKDIR /src
# make: jemalloc, weir's allocator, is built from source.
RUN apt-get update -q && apt-get install -y -q --no-install-recommends make && rm -rf /var/lib/apt/lists/*
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin weir && cp target/release/weir /weir

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /weir /usr/local/bin/weir
# OTLP/gRPC, OTLP/HTTP, admin (/metrics, /health/*), the default pipeline's Prometheus scrape.
EXPOSE 4317 4318 8888 8889
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/weir"]
CMD ["run"]
