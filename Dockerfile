# syntax=docker/dockerfile:1
# The assetgate container image: `docker build -t assetgate .`
#
# Stage 1 builds a static binary (CGO_ENABLED=0: the SQLite driver is pure
# Go). scripts/docker-build-stage.sh runs the same build command as a plain
# script, in CI and in the tests (docker_test.go checks that the two commands
# agree), since no Docker engine runs there.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/assetgate .
# The data folder (SQLite file and generated key when no database URL and
# no ASSETGATE_SECRET_KEY are given), owned by the nonroot user.
RUN mkdir -p /out/data

# Stage 2: distroless static, no shell, running as the nonroot user
# (65532). The binary checks its own health.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/assetgate /assetgate
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /
USER 65532:65532
ENV ASSETGATE_ADDR=:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/assetgate", "healthcheck", "--url", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/assetgate"]
CMD ["serve"]
