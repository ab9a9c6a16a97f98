# syntax=docker/dockerfile:1
# The kro-operator image: `docker build -t kro-operator .` at the repository
# root. Helm's default image is ghcr.io/kro-rs/kro-operator:<appVersion>; set
# image.repository and image.tag to where you push this one.

# Build on Debian 12 (bookworm), the runtime's base, so that the binary links
# against the same glibc. The version is rust-toolchain.toml's; that file is
# left out of the build context (.dockerignore), so that rustup uses the
# image's toolchain instead of installing one.
FROM docker.io/library/rust:1.95.0-bookworm AS build
WORKDIR /src
COPY . .
# The cache mounts keep the crate registry and the target directory between
# builds; the binary is copied out of the cached target directory.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --package kro-operator --bin kro-operator \
    && cp target/release/kro-operator /kro-operator

# glibc and libgcc only, no shell; runs as the `nonroot` user (65532), as the
# chart's securityContext expects.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /kro-operator /usr/local/bin/kro-operator
USER 65532:65532
# The metrics and health-probe ports (--metrics-bind-address,
# --health-probe-bind-address).
EXPOSE 8078 8079
ENTRYPOINT ["/usr/local/bin/kro-operator"]
