package registry_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoDecoders: a program that only reads registries links no image
// decoder, Parquet, HTML or archive code: nothing outside the standard
// library but the hash values and the multi-index.
func TestLinksNoDecoders(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(goCmd, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{
		"github.com/imgconsent/imgconsent/audit/registry":  true,
		"github.com/imgconsent/imgconsent/hash/hashes":     true,
		"github.com/imgconsent/imgconsent/internal/mindex": true,
	}
	for _, p := range strings.Fields(string(out)) {
		std := !strings.Contains(strings.SplitN(p, "/", 2)[0], ".")
		if strings.HasPrefix(p, "image") || strings.HasPrefix(p, "html") || strings.HasPrefix(p, "archive") ||
			strings.HasPrefix(p, "net/http") || !std && !allowed[p] {
			t.Errorf("audit/registry links %s", p)
		}
	}
}
