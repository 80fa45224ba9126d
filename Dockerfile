# syntax=docker/dockerfile:1
# meshobs in a container: a static binary (CGO_ENABLED=0) on distroless,
# run as a non-root user.
#
#   docker build -t meshobs .
#   docker run --rm -p 4317:4317 -p 4318:4318 -p 4319:4319 meshobs
#
# `meshobs serve` listens on 127.0.0.1 unless configured otherwise, which a
# published port cannot reach: the image runs it with deploy/docker/meshobs.yaml,
# whose receivers and API listen on 0.0.0.0. Mount a config of your own over
# /etc/meshobs/meshobs.yaml to change it (TLS, tokens, exporters).
# Not built by the tests: no Docker engine runs where they run.

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so that a source change reuses the download layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -buildvcs=false -ldflags='-s -w' -o /out/meshobs ./cmd/meshobs

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/meshobs /usr/local/bin/meshobs
COPY deploy/docker/meshobs.yaml /etc/meshobs/meshobs.yaml
# distroless's nonroot user, by number so that a runtime check for a
# non-root user (runAsNonRoot) can verify it.
USER 65532:65532
# OTLP/gRPC, OTLP/HTTP, the HTTP API and web UI.
EXPOSE 4317 4318 4319
ENTRYPOINT ["meshobs"]
CMD ["serve", "--config", "/etc/meshobs/meshobs.yaml"]
