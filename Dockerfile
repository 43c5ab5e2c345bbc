# Multi-stage build: a static websession binary on a minimal, non-root image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/web ./cmd/web

FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
COPY --from=build /out/web /app/web
COPY --from=build /src/configs /app/configs
COPY --from=build /src/cgi-bin /app/cgi-bin
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/app/web"]
CMD ["-config", "/app/configs/postgres.conf", "-listen", "0.0.0.0:8080"]
