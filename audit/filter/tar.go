package filter

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/imgconsent/imgconsent/audit/report"
	"github.com/imgconsent/imgconsent/audit/source"
)

// member is one tar member with its bytes.
type member struct {
	hdr  *tar.Header
	data []byte
	path string // shard#name, as the source names the item (with #n for a repeat)
	key  string // the item key the source gives it
}

// group is adjacent members of one sample.
type group struct {
	key     string // the sample key: the member path up to the first dot of its name
	members []member
}

// maxPending bounds the sample fragments without an image held until
// their image comes (a shard whose members are not adjacent).
const maxPending = 64

// tarSink receives the kept samples.
type tarSink interface {
	sample(members []member) error
}

// shard filters one WebDataset tar stream, read from in (already
// decompressed), naming its items as source.WebDataset does for a shard of
// that name, into sink.
func (f *Filter) shard(ctx context.Context, in io.Reader, name string, sink tarSink) error {
	tr := tar.NewReader(in)
	base := filepath.ToSlash(name)
	seen := map[string]int{}
	decided := map[string]bool{} // sample key → kept
	var pending []group          // fragments without an image, waiting for it
	var cur *group
	release := func(key string, keep bool, why string) error {
		out := pending[:0]
		for _, g := range pending {
			if g.key != key {
				out = append(out, g)
				continue
			}
			for _, m := range g.members {
				f.Manifest.add(Entry{Item: m.path, Sample: name + "#" + g.key, Kept: keep, Why: why})
			}
			if keep {
				if err := sink.sample(g.members); err != nil {
					return err
				}
			}
		}
		pending = out
		return nil
	}
	finish := func(g *group) error {
		if g == nil || len(g.members) == 0 {
			return nil
		}
		var images []member
		url := ""
		for _, m := range g.members {
			_, file := path.Split(path.Clean(m.hdr.Name))
			switch {
			case strings.HasSuffix(strings.ToLower(file), ".json"):
				var meta struct {
					URL string `json:"url"`
				}
				if json.Unmarshal(m.data, &meta) == nil {
					url = meta.URL
				}
			case source.IsImageName(file):
				images = append(images, m)
			}
		}
		keep, known := decided[g.key]
		var entries []Entry
		if len(images) > 0 {
			keep = true
			for _, m := range images {
				data := m.data
				it := source.Item{Key: m.key, Path: m.path, URL: url, Read: func(int64) ([]byte, error) { return data, nil }}
				e := f.decide(ctx, it)
				e.Sample = name + "#" + g.key
				keep = keep && e.Kept
				entries = append(entries, e)
			}
			if known {
				keep = keep && decided[g.key]
			}
			decided[g.key] = keep
		} else if !known {
			pending = append(pending, *g)
			if len(pending) > maxPending {
				// Its image never came within reach: a sample without an
				// image has nothing to object to.
				old := pending[0]
				if err := release(old.key, true, "no image in the sample"); err != nil {
					return err
				}
			}
			return nil
		}
		for _, m := range g.members {
			if len(images) == 0 || !isImageMember(m) {
				why := "its sample's image was kept"
				if !keep {
					why = "its sample's image was dropped"
				}
				entries = append(entries, Entry{Item: m.path, Sample: name + "#" + g.key, Kept: keep, Why: why})
			}
		}
		for i := range entries {
			if !keep && entries[i].Kept {
				entries[i].Kept, entries[i].Why = false, "another image of its sample was dropped"
			}
			f.Manifest.add(entries[i])
		}
		why := "its sample's image was kept"
		if !keep {
			why = "its sample's image was dropped"
		}
		if err := release(g.key, keep, why); err != nil {
			return err
		}
		if keep {
			return sink.sample(g.members)
		}
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("filter: shard %s: %w", name, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue // directories and links are no sample's members
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return fmt.Errorf("filter: shard %s: %s: %w", name, h.Name, err)
		}
		clean := path.Clean(h.Name)
		dir, file := path.Split(clean)
		stem, _, _ := strings.Cut(file, ".")
		key := dir + stem
		loc, itemKey := name+"#"+clean, base+"/"+clean
		if n := seen[clean]; n > 0 {
			loc += "#" + strconv.Itoa(n+1)
			itemKey += "#" + strconv.Itoa(n+1)
		}
		seen[clean]++
		if cur != nil && cur.key != key {
			if err := finish(cur); err != nil {
				return err
			}
			cur = nil
		}
		if cur == nil {
			cur = &group{key: key}
		}
		cur.members = append(cur.members, member{hdr: h, data: data, path: loc, key: itemKey})
	}
	if err := finish(cur); err != nil {
		return err
	}
	for len(pending) > 0 {
		if err := release(pending[0].key, true, "no image in the sample"); err != nil {
			return err
		}
	}
	return nil
}

func isImageMember(m member) bool {
	_, file := path.Split(path.Clean(m.hdr.Name))
	return source.IsImageName(file)
}

// tarWriter writes samples to a tar (gzipped or not) over w.
type tarWriter struct {
	tw *tar.Writer
	zw *gzip.Writer
}

func newTarWriter(w io.Writer, gz bool) *tarWriter {
	t := &tarWriter{}
	if gz {
		t.zw = gzip.NewWriter(w)
		w = t.zw
	}
	t.tw = tar.NewWriter(w)
	return t
}

func (t *tarWriter) sample(members []member) error {
	for _, m := range members {
		if err := t.tw.WriteHeader(m.hdr); err != nil {
			return err
		}
		if _, err := t.tw.Write(m.data); err != nil {
			return err
		}
	}
	return nil
}

func (t *tarWriter) close() error {
	err := t.tw.Close()
	if t.zw != nil {
		if cerr := t.zw.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// Stream filters one tar stream (a WebDataset shard, uncompressed, as a
// pipe gives it) from in to out, naming its items as a shard named name.
func (f *Filter) Stream(ctx context.Context, in io.Reader, out io.Writer, name string) error {
	tw := newTarWriter(out, false)
	if err := f.shard(ctx, in, name, tw); err != nil {
		return err
	}
	return tw.close()
}

// Shards filters WebDataset shards into outDir: each under its own name,
// or, with SamplesPerShard, in new shards of that many samples. Every
// output is written under a temporary name and renamed when complete.
func (f *Filter) Shards(ctx context.Context, shards []string, outDir string) (written []string, err error) {
	var rs *reshard
	if f.SamplesPerShard > 0 {
		rs = &reshard{dir: outDir, per: f.SamplesPerShard}
		defer func() {
			if cerr := rs.close(); err == nil {
				err = cerr
			}
			if err == nil {
				written = rs.written
			}
		}()
	}
	for _, name := range shards {
		gz := isGzip(name)
		in, err := os.Open(name)
		if err != nil {
			return written, fmt.Errorf("filter: %w", err)
		}
		var r io.Reader = in
		var zr *gzip.Reader
		if gz {
			if zr, err = gzip.NewReader(in); err != nil {
				in.Close()
				return written, fmt.Errorf("filter: shard %s: %w", name, err)
			}
			r = zr
		}
		if rs != nil {
			err = f.shard(ctx, r, name, rs)
		} else {
			err = f.oneShard(ctx, r, name, filepath.Join(outDir, filepath.Base(name)), gz)
			if err == nil {
				written = append(written, filepath.Join(outDir, filepath.Base(name)))
			}
		}
		in.Close()
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// oneShard filters one shard to out, under a temporary name until done.
func (f *Filter) oneShard(ctx context.Context, r io.Reader, name, out string, gz bool) error {
	p, err := report.CreatePartial(out)
	if err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	tw := newTarWriter(p, gz)
	err = f.shard(ctx, r, name, tw)
	if cerr := tw.close(); err == nil {
		err = cerr
	}
	return p.Finish(err)
}

func isGzip(name string) bool {
	l := strings.ToLower(name)
	return strings.HasSuffix(l, ".gz") || strings.HasSuffix(l, ".tgz")
}

// reshard writes kept samples to new shards of per samples each.
type reshard struct {
	dir     string
	per, n  int
	p       *report.Partial
	tw      *tarWriter
	written []string
}

func (r *reshard) sample(members []member) error {
	if r.p == nil || r.n == r.per {
		if err := r.close(); err != nil {
			return err
		}
		name := filepath.Join(r.dir, fmt.Sprintf("%06d.tar", len(r.written)))
		p, err := report.CreatePartial(name)
		if err != nil {
			return fmt.Errorf("filter: %w", err)
		}
		r.p, r.tw, r.n = p, newTarWriter(p, false), 0
	}
	r.n++
	return r.tw.sample(members)
}

func (r *reshard) close() error {
	if r.p == nil {
		return nil
	}
	p := r.p
	r.p = nil
	err := r.tw.close()
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = p.Commit()
	}
	if err != nil {
		os.Remove(p.Temp)
		return err
	}
	r.written = append(r.written, p.Name)
	return nil
}
