# syntax=docker/dockerfile:1
#
# cartstream's container image: one static binary on distroless, run as a
# non-root user, state under the /data volume, HTTP on 8080.
#
#   docker build -t cartstream:dev --build-arg VERSION=$(git describe --always) .
#   docker run --rm -p 8080:8080 -v cartstream-data:/data cartstream:dev \
#     run --brokers kafka:9092 --instance-id cs-1 --advertised-http cs-1:8080
#
# GO_VERSION is go.mod's go directive (deploy/deploycheck keeps them equal).
# Only the directories that hold the binary's packages are copied, so local
# data, bin/ and caches never reach the build context's layers.

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY cmd/ cmd/
COPY internal/ internal/
COPY processors/ processors/
COPY schemas/ schemas/
COPY state/ state/
COPY topology/ topology/
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags "-s -w -X main.version=${VERSION}" -o /out/cartstream ./cmd/cartstream \
 && mkdir -p /out/data

# distroless/static has no shell and no libc: the binary is static
# (CGO_ENABLED=0). Its "nonroot" user is 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/cartstream /cartstream
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# A container's loopback is useless to others: listen on every interface.
# Flags and the orchestrator's CARTSTREAM_* variables override these.
ENV CARTSTREAM_DATA_DIR=/data \
    CARTSTREAM_HTTP_LISTEN=0.0.0.0:8080 \
    CARTSTREAM_LOG_FORMAT=json
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/cartstream"]
CMD ["run"]
