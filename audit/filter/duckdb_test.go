package filter_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// duckdbRows reads a Parquet file with DuckDB, when it is installed (the
// duckdb command, or the @duckdb/node-api package that .ci/run installs
// under .ci/node_modules), and checks its row count and that each key is
// there once.
func duckdbRows(t *testing.T, path string, want int) {
	t.Helper()
	query := "SELECT count(*), count(DISTINCT key) FROM read_parquet('" + strings.ReplaceAll(path, "'", "''") + "')"
	var out []byte
	var err error
	if duck, lerr := exec.LookPath("duckdb"); lerr == nil {
		out, err = exec.Command(duck, "-csv", "-noheader", "-c", query).CombinedOutput()
	} else {
		modules, _ := filepath.Abs(filepath.Join("..", "..", ".ci", "node_modules"))
		node, nerr := exec.LookPath("node")
		if _, serr := os.Stat(filepath.Join(modules, "@duckdb", "node-api")); nerr != nil || serr != nil {
			t.Log("no DuckDB (neither the duckdb command nor @duckdb/node-api): the Parquet is read back by parquet-go only")
			return
		}
		script := `const {DuckDBInstance} = require('@duckdb/node-api');
(async () => {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const r = await c.runAndReadAll(process.argv[1]);
  const row = r.getRows()[0];
  console.log(row.map(String).join(','));
})().catch(e => { console.error(e); process.exit(1); });`
		cmd := exec.Command(node, "-e", script, query)
		cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
		out, err = cmd.CombinedOutput()
	}
	if err != nil {
		t.Fatalf("duckdb: %v: %s", err, out)
	}
	f := strings.Split(strings.TrimSpace(string(out)), ",")
	if len(f) != 2 || f[0] != strconv.Itoa(want) || f[1] != strconv.Itoa(want) {
		t.Errorf("duckdb reads %q, want %d rows of distinct keys", out, want)
	}
}
