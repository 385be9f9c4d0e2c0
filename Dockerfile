# The controller image for charts/heteroscale (entrypoint `heteroscale`; the chart passes `controller ...`).
#   docker build -t heteroscale:0.1.0-dev .        # the tag the chart uses by default (its appVersion)
# The resolved dependencies (swift-log, swift-service-lifecycle, swift-collections) need Swift tools 6.2,
# so the build image is Swift 6.2 or newer; override with --build-arg SWIFT_IMAGE=swift:6.3-jammy etc.
ARG SWIFT_IMAGE=swift:6.2-jammy
ARG RUNTIME_IMAGE=ubuntu:22.04

FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libcurl4-openssl-dev libyaml-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# SwiftPM checks every target's directory, test targets included, so Tests/ comes along (it is not built).
# Package.resolved is optional (git-ignored): the glob copies it when present, pinning the dependencies.
COPY Package.swift Package.resolved* ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product heteroscale --static-swift-stdlib \
 && install -D "$(swift build -c release --show-bin-path)/heteroscale" /out/heteroscale

FROM ${RUNTIME_IMAGE}
# libcurl (OpenSSL flavour) and libyaml are linked dynamically; ca-certificates for HTTPS Prometheus or
# pod endpoints; tzdata for schedules with a timeZone (Periodic, scheduled bounds).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libcurl4 libyaml-0-2 ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/heteroscale /usr/local/bin/heteroscale
# The chart runs it as 65532:65532 with a read-only root filesystem (only /tmp is writable).
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/heteroscale"]
CMD ["controller"]
