package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgconsent/imgconsent/beam/internal/shards"
	"github.com/imgconsent/imgconsent/internal/flagset"
)

// The test binary runs main itself when asked, so the command is tested
// as users run it: flags, the Prism runner by default, the printed summary.
func TestMain(m *testing.M) {
	if os.Getenv("IMGCONSENT_BEAM_MAIN") == "1" {
		os.Args = append([]string{"imgconsent-beam"}, strings.Fields(os.Getenv("IMGCONSENT_BEAM_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runMain(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "IMGCONSENT_BEAM_MAIN=1", "IMGCONSENT_BEAM_ARGS="+strings.Join(args, " "))
	out, err := cmd.Output()
	return string(out), err
}

func TestCommand(t *testing.T) {
	dir := t.TempDir()
	c, err := shards.Write(dir, shards.Options{Tars: 2, PerShard: 8})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "report")
	stdout, err := runMain(t, "--input", c.Patterns[0], "--input", c.Patterns[1], "--registry", c.Registry,
		"--output", out, "--parquet", "--keep-lists", "--allow-privacy")
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if !strings.Contains(stdout, "images:   25") || !strings.Contains(stdout, "exclude:") {
		t.Errorf("summary:\n%s", stdout)
	}
	for _, f := range []string{"00000.records.jsonl", "00001.records.parquet", "00002.keep.txt", "manifest-00000.records.jsonl", "summary.json", "summary.txt"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// --allow-privacy reached the workers: the GPS-tagged photos are kept.
	if strings.Contains(stdout, "personal-data ") {
		t.Errorf("privacy findings reviewed despite --allow-privacy:\n%s", stdout)
	}
	if !strings.Contains(stdout, "personal-data-allowed") {
		t.Errorf("no allowed privacy finding:\n%s", stdout)
	}

	if _, err := runMain(t, "--output", out); err == nil {
		t.Error("no --input: no error")
	}
	if _, err := runMain(t, "--input", filepath.Join(dir, "nothing-*.tar"), "--output", out); err == nil {
		t.Error("a pattern matching nothing: no error")
	}
}

// The pipeline's flags that the CLI has too are the same flags, defined in
// one place: same names, same defaults, same help.
func TestSharedFlags(t *testing.T) {
	want := flag.NewFlagSet("cli", flag.ContinueOnError)
	var p flagset.Policy
	var u flagset.URLs
	var q flagset.Parquet
	p.Register(want)
	u.Register(want, false)
	q.Register(want)
	n := 0
	want.VisitAll(func(f *flag.Flag) {
		n++
		got := flag.CommandLine.Lookup(f.Name)
		if got == nil || got.Usage != f.Usage || got.DefValue != f.DefValue {
			t.Errorf("--%s: %+v, want %+v", f.Name, got, f)
		}
	})
	if n < 25 {
		t.Errorf("only %d shared flags", n)
	}
}
