package urlcheck

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/imgconsent/imgconsent/exif"
)

// cacheLine is one line of the cache file (JSON Lines): a URL's result or
// a site file.
type cacheLine struct {
	URL  *Result   `json:"url,omitempty"`
	Site string    `json:"site,omitempty"` // origin + path
	File *siteFile `json:"file,omitempty"`
}

// openCache reads the cache file, rewrites it with only its live entries
// (so it does not grow without end across runs), and keeps it open to
// append this run's answers as they come: nothing of a long run is held
// in memory for the cache, and a crash loses at most the unflushed tail.
// A line that cannot be read is skipped: the cache only saves requests,
// so a damaged one costs requests, not the run.
func (c *Checker) openCache(path string) error {
	var live []cacheLine
	f, err := os.Open(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("urlcheck: cache: %w", err)
	default:
		now := c.o.Now()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64<<10), 2*maxPolicyBytes+64<<10)
		for sc.Scan() {
			var l cacheLine
			if json.Unmarshal(sc.Bytes(), &l) != nil {
				continue
			}
			switch {
			case l.URL != nil && l.URL.URL != "" && now.Sub(l.URL.Checked) < c.o.CacheTTL && definite(*l.URL):
				r := *l.URL
				r.Cached = true
				c.urls[r.URL] = r
				live = append(live, l)
			case l.Site != "" && l.File != nil && now.Sub(l.File.Fetched) < c.o.CacheTTL && l.File.ok():
				sf := l.File
				sf.done = make(chan struct{})
				close(sf.done)
				kind := sf.Kind
				if kind == "" {
					kind = pathOfKey(l.Site)
				}
				sf.parse(kind)
				if sf.parseErr != nil {
					continue
				}
				if c.evidence != nil && sf.Body != "" {
					// Fetched by an earlier run: kept here too, once.
					sf.Evidence = c.evidence.keep(docName(kind), l.Site, sf.Fetched, sf.Status, []byte(sf.Body))
				}
				live = append(live, cacheLine{Site: l.Site, File: &siteFile{Status: sf.Status, Body: sf.Body, Fetched: sf.Fetched, Kind: sf.Kind, Evidence: sf.Evidence}})
				sf.Body = "" // parsed; the file keeps the text
				c.sites[l.Site] = sf
			}
		}
		err := sc.Err()
		f.Close()
		if err != nil {
			return fmt.Errorf("urlcheck: cache %s: %w", path, err)
		}
	}
	// Compact: the live entries, under a temporary name renamed into
	// place, then open for appending. The folder may not be there yet (the
	// default cache sits beside a report not yet written).
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("urlcheck: cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.partial")
	if err != nil {
		return fmt.Errorf("urlcheck: cache: %w", err)
	}
	bw := bufio.NewWriter(tmp)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := range live {
		if err == nil {
			err = enc.Encode(&live[i])
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("urlcheck: cache: %w", err)
	}
	c.cacheFile, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("urlcheck: cache: %w", err)
	}
	c.cacheW = bufio.NewWriterSize(c.cacheFile, 64<<10)
	c.cacheEnc = json.NewEncoder(c.cacheW)
	c.cacheEnc.SetEscapeHTML(false)
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

// definite reports whether a result is worth keeping: every check was made.
func definite(r Result) bool { return r.Error == "" && !hasUndetermined(r.Signals) }

// remember appends a line to the cache file, when there is one. A write
// error is kept for Save to report; the checks go on.
func (c *Checker) remember(l cacheLine) {
	if c.cacheEnc == nil {
		return
	}
	c.cacheMu.Lock()
	defer c.cacheMu.Unlock()
	if c.cacheErr == nil {
		c.cacheErr = c.cacheEnc.Encode(&l)
	}
}

// Save flushes this run's answers to the cache file (Options.CacheFile)
// and syncs it. Every definite answer is there, per URL and per site file;
// checks that failed are not, so a re-run asks them again. It may be
// called at any time, and should be when the run ends.
func (c *Checker) Save() error {
	if c.cacheEnc == nil {
		return nil
	}
	c.cacheMu.Lock()
	defer c.cacheMu.Unlock()
	if c.cacheErr == nil {
		c.cacheErr = c.cacheW.Flush()
	}
	if c.cacheErr == nil {
		c.cacheErr = c.cacheFile.Sync()
	}
	if c.cacheErr != nil {
		return fmt.Errorf("urlcheck: cache %s: %w", c.o.CacheFile, c.cacheErr)
	}
	return nil
}

// Close saves the cache and closes its file; the Checker still checks,
// without a cache.
func (c *Checker) Close() error {
	err := errors.Join(c.Save(), c.evidence.close())
	c.evidence = nil
	c.cacheMu.Lock()
	defer c.cacheMu.Unlock()
	if c.cacheFile != nil {
		if cerr := c.cacheFile.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("urlcheck: cache: %w", cerr)
		}
		c.cacheFile, c.cacheEnc = nil, nil
	}
	return err
}

func hasUndetermined(ss []exif.Signal) bool {
	for _, s := range ss {
		if s.Meaning == exif.Undetermined {
			return true
		}
	}
	return false
}
