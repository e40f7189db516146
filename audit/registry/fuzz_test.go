package registry_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/imgconsent/imgconsent/audit/registry"
)

// FuzzReadRegistry: any bytes, read as CSV and as JSON Lines, either load
// entries that are all valid or fail with *LineError values; never a panic.
func FuzzReadRegistry(f *testing.F) {
	f.Add([]byte("hash,id,source,date,status,note\n" + p1 + ",obj-1,alice,2026-01-02,active,first\n"))
	f.Add([]byte(`{"hash":"` + sha + `","id":"x","status":"withdrawn"}` + "\n"))
	f.Add([]byte("p:c3a1ff0012345678\n\"a,b\nd:zz\n"))
	// TDM·AI declarations, with intents, and an iscc entry.
	f.Add([]byte(`{"iscc": "ISCC:EEA4GQZQTY6J5DTH", "train-ai": "false", "declaration_id": "d1"}` + "\n" +
		`{"iscc": "ISCC:EEA4GQZQTY6J5DTH", "declaration_id": "d1", "intent": "withdraw"}` + "\n" +
		`{"hash": "iscc:ISCC:EEA4GQZQTY6J5DTH", "id": "x"}` + "\n"))
	f.Add([]byte(`[{"iscc": "ISCC:EEAQAAAAAAAAAAAB", "tdm-reservation": 1}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []registry.Format{registry.FormatCSV, registry.FormatJSONL} {
			r := &registry.Registry{}
			err := r.Read(bytes.NewReader(data), "fuzz", format)
			if err != nil {
				var le *registry.LineError
				if r.Len() != 0 {
					t.Fatalf("%s: failed read kept %d entries", format, r.Len())
				}
				if !errors.As(err, &le) && !bytes.Contains([]byte(err.Error()), []byte("registry fuzz")) {
					t.Fatalf("%s: error %v names no line", format, err)
				}
				continue
			}
			for _, e := range r.Entries() {
				if _, _, err := registry.ParseHash(e.Hash()); err != nil || e.Line < 1 {
					t.Fatalf("%s: invalid entry %+v: %v", format, e, err)
				}
			}
		}
	})
}
