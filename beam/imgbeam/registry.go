package imgbeam

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"

	"github.com/imgconsent/imgconsent/audit/registry"
)

// A worker process loads each registry once, however many DoFn instances
// (one per bundle thread) it runs: a ten-million-entry registry takes
// seconds to load and hundreds of MiB to hold.
var (
	registriesMu sync.Mutex
	registries   = map[string]*loadedRegistry{}
)

type loadedRegistry struct {
	once sync.Once
	reg  *registry.Registry
	err  error
}

// registryFor returns the registry cfg names, loading it on first use.
func registryFor(ctx context.Context, cfg Config) (*registry.Registry, error) {
	keyJSON, _ := json.Marshal(struct {
		Paths []string
		Opts  registry.Options
		Radii *registry.Radii
	}{cfg.Registries, cfg.RegistryOptions, cfg.Policy.Radii})
	key := string(keyJSON)
	registriesMu.Lock()
	l, ok := registries[key]
	if !ok {
		l = &loadedRegistry{}
		registries[key] = l
	}
	registriesMu.Unlock()
	l.once.Do(func() {
		l.reg, l.err = loadRegistry(ctx, cfg)
		if l.err == nil {
			log.Infof(ctx, "imgconsent: registry %v: %d entries (%d active)", cfg.Registries, l.reg.Len(), l.reg.Active())
		}
	})
	return l.reg, l.err
}

func loadRegistry(ctx context.Context, cfg Config) (*registry.Registry, error) {
	radii := registry.DefaultRadii
	if cfg.Policy.Radii != nil {
		radii = *cfg.Policy.Radii
	}
	paths := cfg.Registries
	remote := false
	for _, p := range paths {
		remote = remote || isRemote(p)
	}
	if remote {
		// Registry files on a remote file system are copied to the worker's
		// disk first, with the saved index beside the first when there is
		// one, and loaded from there.
		dir, err := os.MkdirTemp("", "imgconsent-registry-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		var local []string
		for i, p := range paths {
			// Under its own name, which match evidence cites.
			sub := filepath.Join(dir, fmt.Sprint(i))
			if err := os.Mkdir(sub, 0o700); err != nil {
				return nil, err
			}
			dst := filepath.Join(sub, path.Base(p))
			if err := copyFile(ctx, p, dst); err != nil {
				return nil, fmt.Errorf("imgbeam: registry %s: %w", p, err)
			}
			if i == 0 {
				if err := copyFile(ctx, p+registry.IndexSuffix, dst+registry.IndexSuffix); err != nil {
					os.Remove(dst + registry.IndexSuffix) // no index: parse the files
				}
			}
			local = append(local, dst)
		}
		paths = local
	}
	opts := cfg.RegistryOptions
	opts.Index, opts.Radii = registry.IndexWhenFresh, &radii
	reg, err := registry.Open(opts, paths...)
	if err != nil {
		return nil, fmt.Errorf("imgbeam: registry: %w", err)
	}
	return reg, nil
}

// copyFile copies a file from any Beam file system to a local path.
func copyFile(ctx context.Context, src, dst string) error {
	fs, err := filesystem.New(ctx, src)
	if err != nil {
		return err
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, src)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
