package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imgconsent/imgconsent/internal/sample"
)

// imgconsent serve as a process: it answers, reloads on SIGHUP, and stops
// on SIGTERM after the requests in flight, exit 0.
func TestServeProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	photo := filepath.Join(dir, "objected.jpg")
	os.WriteFile(photo, sample.JPEG(sample.Photo(1400, 320, 240), 92), 0o644)
	reg := filepath.Join(dir, "optouts.csv")
	if code, _, errOut := runCLI(t, "registry", "add", photo, "--out", reg); code != 0 {
		t.Fatal(errOut)
	}
	cmd := exec.Command(os.Args[0], "serve", "--registry", reg, "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "IMGCONSENT_RUN_MAIN=1")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stderr)
	logs := make(chan map[string]any, 100)
	go func() {
		for lines.Scan() {
			var l map[string]any
			if json.Unmarshal(lines.Bytes(), &l) == nil {
				logs <- l
			}
		}
		close(logs)
	}()
	next := func(msg string) map[string]any {
		timeout := time.After(20 * time.Second)
		for {
			select {
			case l, ok := <-logs:
				if !ok {
					t.Fatalf("the server stopped before logging %q", msg)
				}
				if l["msg"] == msg {
					return l
				}
			case <-timeout:
				t.Fatalf("no %q logged", msg)
			}
		}
	}
	addr := next("serving")["addr"].(string)
	copyJPEG := sample.JPEG(sample.Photo(1400, 320, 240), 60)
	resp, err := http.Post("http://"+addr+"/check", "image/jpeg", bytes.NewReader(copyJPEG))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"verdict":"exclude"`) {
		t.Errorf("/check: %d %s", resp.StatusCode, b)
	}
	if l := next("request"); l["path"] != "/check" || l["status"] != float64(200) {
		t.Errorf("request log: %v", l)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	next("registries loaded")
	cmd.Process.Signal(syscall.SIGTERM)
	next("stopped")
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
}
