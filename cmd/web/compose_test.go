package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/websession/websession/internal/testtool"
)

// TestComposeFile checks docker-compose.yml the only way this machine can:
// Docker does not run here, but docker-compose parses and validates it.
func TestComposeFile(t *testing.T) {
	t.Parallel()
	bin := testtool.Path(t, "docker-compose", "docker-compose")
	out, err := exec.Command(bin, "-f", "../../docker-compose.yml", "config").CombinedOutput()
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
	for _, want := range []string{"image: postgres:15", "/app/configs/postgres.conf", "DATABASE_URL:", "SESSION_SECRET:", "condition: service_healthy"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("compose configuration lacks %q", want)
		}
	}
	if _, err := shippedFile("postgres.conf"); err != nil {
		t.Errorf("the compose file runs configs/postgres.conf: %v", err)
	}
	docker, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	// The CGI demo is a /bin/sh script using sed: the runtime image must
	// have both (distroless/static has neither).
	for _, want := range []string{"CGO_ENABLED=0", "USER 65534:65534", "FROM busybox:", "COPY --from=build /src/configs /app/configs", "COPY --from=build /src/cgi-bin /app/cgi-bin"} {
		if !strings.Contains(string(docker), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

func shippedFile(name string) ([]byte, error) { return os.ReadFile("../../configs/" + name) }
