package serve_test

import "github.com/imgconsent/imgconsent/audit/source"

func itemOf(data []byte) source.Item {
	return source.Item{Key: "original", Read: func(int64) ([]byte, error) { return data, nil }}
}
