package urlcheck

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/imgconsent/imgconsent/exif"
)

// The site files read for every origin.
const (
	robotsPath = "/robots.txt"
	aiTxtPath  = "/ai.txt"
	tdmrepPath = "/.well-known/tdmrep.json"
)

// siteFile is one fetch of a site's policy file, shared by every URL of the
// site for the whole run (and across runs through the cache file).
type siteFile struct {
	done    chan struct{} // closed when the fetch ended
	Status  int           `json:"status,omitempty"`
	Body    string        `json:"body,omitempty"`
	Err     string        `json:"error,omitempty"`
	Fetched time.Time     `json:"fetched"`

	// Kind is what the file is when its name does not say (rslKind for a
	// license document); "" for the site files, named by their path.
	Kind string `json:"kind,omitempty"`
	// Evidence is the SHA-256 of the body kept in the evidence directory
	// (Options.EvidenceDir), when there is one.
	Evidence string `json:"evidence,omitempty"`

	robots *robots // parsed once, for robots.txt and ai.txt
	tdm    []tdmRule
	rsl    []rslContent
	// parseErr: a tdmrep.json or RSL document that cannot be read. Such a
	// file is not cached: a later run asks again.
	parseErr error
}

// rslKind marks an RSL license document among the fetched files.
const rslKind = "rsl"

// ok reports whether the fetch gave a definite answer: a response other
// than a server error (a 404 is definite: there is no such file).
func (f *siteFile) ok() bool {
	return f.Err == "" && f.Status != 0 && f.Status < 500 && f.Status != http.StatusTooManyRequests
}

// site returns the site file, fetching it once however many URLs ask.
func (c *Checker) site(ctx context.Context, orig, path string) *siteFile {
	return c.doc(ctx, orig+path, path)
}

// doc returns the document at key (its URL), of kind (a site file's path,
// or rslKind), fetching it once however many URLs ask.
func (c *Checker) doc(ctx context.Context, key, kind string) *siteFile {
	c.mu.Lock()
	f, ok := c.sites[key]
	if ok && f.done != nil {
		select {
		case <-f.done:
			if c.o.Now().Sub(f.Fetched) >= c.o.CacheTTL {
				ok = false // stale: fetch again
			}
		default:
		}
	}
	if !ok {
		f = &siteFile{done: make(chan struct{})}
		if kind == rslKind {
			f.Kind = kind
		}
		c.sites[key] = f
		c.mu.Unlock()
		c.fetchSite(ctx, f, key, kind)
		return f
	}
	c.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		return &siteFile{Err: ctx.Err().Error()}
	}
	return f
}

func (c *Checker) fetchSite(ctx context.Context, f *siteFile, target, kind string) {
	defer close(f.done)
	c.stats.files.Add(1)
	f.Fetched = c.o.Now()
	max := int64(maxPolicyBytes)
	if kind == rslKind {
		max = maxRSLBytes + 1 // one byte more: parseRSL refuses a larger document
	}
	resp, err := c.do(ctx, http.MethodGet, target, nil, max)
	if err != nil {
		f.Err = err.Error()
		if ctx.Err() != nil {
			// This run was cancelled: let a later call fetch it again.
			c.mu.Lock()
			delete(c.sites, target)
			c.mu.Unlock()
		}
		return
	}
	f.Status = resp.StatusCode
	if f.Status >= 200 && f.Status < 300 {
		b, _ := io.ReadAll(resp.Body) // already in memory: do read it, bounded
		f.Body = string(b)
		f.Evidence = c.evidence.put(docName(kind), target, f.Fetched, f.Status, resp.Header, b)
	}
	f.parse(kind)
	if f.ok() && f.parseErr == nil {
		c.remember(cacheLine{Site: target, File: &siteFile{Status: f.Status, Body: f.Body, Fetched: f.Fetched, Kind: f.Kind, Evidence: f.Evidence}})
	}
	f.Body = "" // parsed: only the rules are kept for the run
}

// parse parses the body by the file it is.
func (f *siteFile) parse(kind string) {
	if f.Status < 200 || f.Status >= 300 {
		return
	}
	switch kind {
	case robotsPath, aiTxtPath:
		f.robots = parseRobots([]byte(f.Body))
	case tdmrepPath:
		f.tdm, f.parseErr = parseTDMRep([]byte(f.Body))
	case rslKind:
		f.rsl, f.parseErr = parseRSL([]byte(f.Body))
	}
}

// checkSite reads the site's robots.txt, ai.txt and tdmrep.json for u.
func (c *Checker) checkSite(ctx context.Context, u *url.URL) []exif.Signal {
	orig, path := origin(u), pathOf(u)
	var out []exif.Signal
	seen := map[exif.Signal]bool{}
	add := func(s exif.Signal) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	failed := func(f *siteFile, src exif.Source, name, where string) bool {
		if f.ok() {
			return false
		}
		why := f.Err
		if why == "" {
			why = fmt.Sprintf("the server answered %d", f.Status)
		}
		add(undetermined(src, name, "", name+" could not be fetched: "+why, where))
		return true
	}

	// robots.txt: Disallow for a training crawler or for all, and the
	// Content-Usage rules that apply.
	where := orig + robotsPath
	if f := c.site(ctx, orig, robotsPath); !failed(f, exif.SourceRobots, "robots.txt", where) && f.robots != nil {
		for _, agent := range c.agentsIn(f.robots) {
			rules, _ := f.robots.groupFor(agent)
			if ok, r := allowed(rules, path); !ok {
				d := "robots.txt keeps all crawlers from this path"
				if c, ok := crawlerInfo(agent); ok {
					d = fmt.Sprintf("robots.txt keeps %s (%s: %s) from this path", c.Token, c.Operator, c.Purpose)
				} else if agent != "*" {
					d = fmt.Sprintf("robots.txt keeps %s, a crawler that gathers AI training data, from this path", agent)
				}
				add(f.stamp(exif.Signal{Source: exif.SourceRobots, Field: "Disallow", Value: fmt.Sprintf("User-agent: %s; Disallow: %s", agent, r.raw),
					Meaning: exif.OptOut, Detail: fmt.Sprintf("%s (line %d)", d, r.line), URL: where}))
				continue // no usage preferences for what cannot be crawled
			}
			for _, r := range usageFor(rules, path) {
				for _, s := range prefSignals(exif.SourceAIPref, "robots.txt Content-Usage", r.pref, where) {
					s.Detail += fmt.Sprintf(" (User-agent: %s, line %d)", agent, r.line)
					add(f.stamp(s))
				}
			}
			for _, r := range signalsFor(rules, path) {
				add(f.stamp(contentSignalFinding(r.pref, where, fmt.Sprintf("User-agent: %s, line %d", agent, r.line))))
			}
		}
		// RSL: the license documents robots.txt names (License lines
		// outside any group, or in a group that applies).
		for _, l := range f.robots.licenses {
			if l.group >= 0 && !c.groupApplies(f.robots.groups[l.group]) {
				continue
			}
			ref, err := url.Parse(l.url)
			if err != nil {
				add(undetermined(exif.SourceRSL, "RSL license", l.url, fmt.Sprintf("robots.txt License, line %d, is not a URL", l.line), where))
				continue
			}
			doc := u.ResolveReference(ref).String()
			for _, s := range c.rslSignals(ctx, doc, u, fmt.Sprintf("named by robots.txt License, line %d", l.line)) {
				add(s)
			}
		}
	}

	// ai.txt (Spawning): robots.txt syntax, rules for what may be used.
	where = orig + aiTxtPath
	if f := c.site(ctx, orig, aiTxtPath); !failed(f, exif.SourceAITxt, "ai.txt", where) && f.robots != nil {
		for _, agent := range c.agentsIn(f.robots) {
			rules, _ := f.robots.groupFor(agent)
			ok, r := allowed(rules, path)
			switch {
			case r == nil:
			case !ok:
				add(f.stamp(exif.Signal{Source: exif.SourceAITxt, Field: "Disallow", Value: fmt.Sprintf("User-Agent: %s; Disallow: %s", agent, r.raw),
					Meaning: exif.OptOut, Detail: fmt.Sprintf("ai.txt disallows AI use of this file (line %d)", r.line), URL: where}))
			default:
				add(f.stamp(exif.Signal{Source: exif.SourceAITxt, Field: "Allow", Value: fmt.Sprintf("User-Agent: %s; Allow: %s", agent, r.raw),
					Meaning: exif.Permission, Detail: fmt.Sprintf("ai.txt allows AI use of this file (line %d)", r.line), URL: where}))
			}
		}
	}

	// TDMRep's site file.
	where = orig + tdmrepPath
	if f := c.site(ctx, orig, tdmrepPath); !failed(f, exif.SourceTDMRep, "tdmrep.json", where) && f.Status >= 200 && f.Status < 300 {
		if f.parseErr != nil {
			add(undetermined(exif.SourceTDMRep, "tdmrep.json", "", f.parseErr.Error(), where))
		} else if r := tdmFor(f.tdm, path); r != nil {
			reserved, _ := reservation(string(r.Reservation))
			v := fmt.Sprintf("location %s: tdm-reservation %s", r.Location, strings.Trim(string(r.Reservation), `"`))
			if reserved {
				d := "text and data mining rights reserved for this path (TDMRep)"
				if r.Policy != "" {
					d += "; policy " + r.Policy
				}
				add(f.stamp(exif.Signal{Source: exif.SourceTDMRep, Field: "tdmrep.json", Value: v, Meaning: exif.OptOut, Detail: d, URL: where}))
			} else {
				add(f.stamp(exif.Signal{Source: exif.SourceTDMRep, Field: "tdmrep.json", Value: v, Meaning: exif.Permission, Detail: "text and data mining rights not reserved for this path (TDMRep)", URL: where}))
			}
		}
	}
	return out
}

// agentsIn lists the agents to evaluate a robots.txt or ai.txt for: each
// training crawler that has a group of its own, and "*".
func (c *Checker) agentsIn(r *robots) []string {
	var out []string
	for _, a := range c.o.Agents {
		for _, g := range r.groups {
			if agentIn(a, g.agents) {
				out = append(out, a)
				break
			}
		}
	}
	return append(out, "*")
}

// groupApplies reports whether a robots.txt group is for all crawlers or
// for one that gathers training data.
func (c *Checker) groupApplies(g group) bool {
	for _, a := range g.agents {
		if a == "*" || agentIn(a, c.o.Agents) {
			return true
		}
	}
	return false
}

// rslSignals reads the RSL license document at doc for the image at u: the
// finding its covering <content> gives, none when no content covers the
// image, and unknown when the document cannot be fetched or read (never
// consent). via says how the document was found.
func (c *Checker) rslSignals(ctx context.Context, doc string, u *url.URL, via string) []exif.Signal {
	f := c.doc(ctx, doc, rslKind)
	switch {
	case !f.ok():
		why := f.Err
		if why == "" {
			why = fmt.Sprintf("the server answered %d", f.Status)
		}
		return []exif.Signal{undetermined(exif.SourceRSL, "RSL license", "", fmt.Sprintf("the RSL license (%s) could not be fetched: %s", via, why), doc)}
	case f.Status < 200 || f.Status >= 300:
		return []exif.Signal{undetermined(exif.SourceRSL, "RSL license", "", fmt.Sprintf("the RSL license (%s) is not there: the server answered %d", via, f.Status), doc)}
	case f.parseErr != nil:
		return []exif.Signal{undetermined(exif.SourceRSL, "RSL license", "", fmt.Sprintf("%s (%s)", f.parseErr, via), doc)}
	}
	if sg := rslFinding(f.rsl, u, doc, via); sg != nil {
		return []exif.Signal{f.stamp(*sg)}
	}
	return nil
}

// stamp marks a signal with the stored document that said it.
func (f *siteFile) stamp(s exif.Signal) exif.Signal {
	return stamp([]exif.Signal{s}, f.Evidence, f.Fetched)[0]
}

// docName is a fetched file's kind as the evidence index names it.
func docName(kind string) string {
	return strings.TrimPrefix(strings.TrimPrefix(kind, "/.well-known/"), "/")
}
