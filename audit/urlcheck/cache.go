package urlcheck

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/imgconsent/imgconsent/exif"
)

// cacheLine is one line of the cache file (JSON Lines): a URL's result or
// a site file.
type cacheLine struct {
	URL  *Result   `json:"url,omitempty"`
	Site string    `json:"site,omitempty"` // origin + path
	File *siteFile `json:"file,omitempty"`
}

// load reads the cache file; a missing file is an empty cache. A line that
// cannot be read is skipped: the cache only saves requests, so a damaged
// one costs requests, not the run.
func (c *Checker) load(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("urlcheck: cache: %w", err)
	}
	defer f.Close()
	now := c.o.Now()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 2*maxPolicyBytes+64<<10)
	for sc.Scan() {
		var l cacheLine
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		switch {
		case l.URL != nil && l.URL.URL != "" && now.Sub(l.URL.Checked) < c.o.CacheTTL:
			r := *l.URL
			r.Cached = true
			c.urls[r.URL] = r
		case l.Site != "" && l.File != nil && now.Sub(l.File.Fetched) < c.o.CacheTTL && l.File.ok():
			sf := l.File
			sf.done = make(chan struct{})
			close(sf.done)
			sf.parse(pathOfKey(l.Site))
			c.sites[l.Site] = sf
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("urlcheck: cache %s: %w", path, err)
	}
	return nil
}

// pathOfKey returns the site file's path from its key (origin + path).
func pathOfKey(key string) string {
	for _, p := range []string{robotsPath, aiTxtPath, tdmrepPath} {
		if len(key) > len(p) && key[len(key)-len(p):] == p {
			return p
		}
	}
	return ""
}

// Save writes the cache file (Options.CacheFile): every definite answer of
// this run and of the file it read, not the checks that failed. It writes
// a temporary file and renames it, so a crash never leaves half a cache.
func (c *Checker) Save() error {
	if c.o.CacheFile == "" {
		return nil
	}
	c.mu.Lock()
	var lines []cacheLine
	for _, k := range slices.Sorted(maps.Keys(c.urls)) {
		r := c.urls[k]
		if r.Error != "" || hasUndetermined(r.Signals) {
			continue
		}
		r.Cached = false
		lines = append(lines, cacheLine{URL: &r})
	}
	for _, k := range slices.Sorted(maps.Keys(c.sites)) {
		f := c.sites[k]
		select {
		case <-f.done:
		default:
			continue // still being fetched
		}
		if f.ok() && f.tdmErr == nil {
			lines = append(lines, cacheLine{Site: k, File: f})
		}
	}
	c.mu.Unlock()

	tmp, err := os.CreateTemp(filepath.Dir(c.o.CacheFile), filepath.Base(c.o.CacheFile)+".*.partial")
	if err != nil {
		return fmt.Errorf("urlcheck: cache: %w", err)
	}
	bw := bufio.NewWriter(tmp)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := range lines {
		if err = enc.Encode(&lines[i]); err != nil {
			break
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Close()
	} else {
		tmp.Close()
	}
	if err == nil {
		err = os.Rename(tmp.Name(), c.o.CacheFile)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("urlcheck: cache: %w", err)
	}
	return nil
}

func hasUndetermined(ss []exif.Signal) bool {
	for _, s := range ss {
		if s.Meaning == exif.Undetermined {
			return true
		}
	}
	return false
}
