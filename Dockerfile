# Multi-stage build: a static websession binary on a minimal, non-root image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/web ./cmd/web

# busybox rather than distroless/static: the CGI demo the site links to
# (cgi-bin/session-demo) is a /bin/sh script, and it needs sh and sed.
FROM busybox:1.36
WORKDIR /app
COPY --from=build /out/web /app/web
COPY --from=build /src/configs /app/configs
COPY --from=build /src/cgi-bin /app/cgi-bin
# nobody: the configuration below keeps everything in PostgreSQL and
# writes no file.
USER 65534:65534
EXPOSE 8080
ENTRYPOINT ["/app/web"]
CMD ["-config", "/app/configs/postgres.conf", "-listen", "0.0.0.0:8080"]
