// Package flagset defines, once, the flags the command-line tool
// (examples/imgconsent) and the Beam pipeline (beam/cmd/imgconsent-beam)
// share: the policy and registry flags, the URL-check flags and the
// Parquet column flags, with their checks. Each command registers them on
// its own flag.FlagSet, so a flag means the same and is spelled the same
// everywhere.
package flagset

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/urlcheck"
)

// ErrUsage is wrapped by the errors of flags given wrong values; commands
// exit with status 2 for it.
var ErrUsage = errors.New("usage")

// Multi is a flag that may be repeated.
type Multi []string

func (m *Multi) String() string     { return strings.Join(*m, ",") }
func (m *Multi) Set(v string) error { *m = append(*m, v); return nil }

// Policy holds the registry and policy flags.
type Policy struct {
	Registries          Multi
	Radii               registry.Radii
	AllowRights         bool
	ReviewConstrained   bool
	AllowPrivacy        bool
	IgnoreLegacyLabels  bool
	AllowMetadataErrors bool
	URLUnknown          audit.Verdict
	MaxPixels           int64
	MaxFileMB           int64
	IgnoreOrientation   bool
	ReferenceHashes     bool
	AllowDegenerate     bool
	SkipBadLines        bool
}

// Register defines the flags on fs.
func (p *Policy) Register(fs *flag.FlagSet) {
	fs.Var(&p.Registries, "registry", "opt-out registry `file` (CSV, JSON Lines or a plain hex list; local, or on a Beam file system in Beam); repeat for several")
	fs.BoolVar(&p.SkipBadLines, "skip-bad-lines", false, "load registries with bad lines, leaving those lines out and counting them, instead of failing")
	fs.BoolVar(&p.AllowDegenerate, "allow-degenerate", false, "let registry entries that look like hashes of flat images match (they are set aside by default)")
	p.Radii = registry.DefaultRadii
	fs.IntVar(&p.Radii.PHash, "radius-phash", p.Radii.PHash, "pHash match radius in bits (-1: off)")
	fs.IntVar(&p.Radii.DHash, "radius-dhash", p.Radii.DHash, "dHash match radius in bits (-1: off)")
	fs.IntVar(&p.Radii.AHash, "radius-ahash", p.Radii.AHash, "aHash match radius in bits (-1: off)")
	fs.IntVar(&p.Radii.PDQ, "radius-pdq", p.Radii.PDQ, "PDQ match radius in bits of 256, over every rotation and flip (-1: off)")
	fs.BoolVar(&p.ReviewConstrained, "review-constrained", false, "send images whose C2PA/CAWG training-mining use is \"constrained\" to review instead of excluding them")
	fs.BoolVar(&p.AllowRights, "allow-rights-notices", false, "keep images whose only finding is a rights notice (author, copyright, usage terms)")
	fs.BoolVar(&p.AllowPrivacy, "allow-privacy", false, "keep images that carry personal data (GPS position, camera owner, serial number)")
	fs.BoolVar(&p.IgnoreLegacyLabels, "ignore-legacy-labels", false, "read AI preferences labels of earlier drafts (train-genai=n, all=n …) as the current draft does, as no preference, instead of as the objection their authors meant")
	fs.BoolVar(&p.AllowMetadataErrors, "allow-metadata-errors", false, "keep images whose metadata could not be read in full")
	p.URLUnknown = audit.Review
	fs.TextVar(&p.URLUnknown, "url-unknown", audit.Review, "verdict for an image whose URL could not be checked (network error, timeout, unparseable policy, no URL): review, exclude or keep")
	fs.Int64Var(&p.MaxPixels, "max-pixels", 0, "refuse images declaring more pixels (0: 64 Mpx)")
	fs.Int64Var(&p.MaxFileMB, "max-file-mb", 0, "refuse files larger than this many MiB (0: 256)")
	fs.BoolVar(&p.IgnoreOrientation, "ignore-orientation", false, "hash images as stored, not as displayed")
	fs.BoolVar(&p.ReferenceHashes, "reference-hashes", false, "compute goimagehash's exact hashes from a full decode (slow), to match a registry goimagehash made")
}

// Audit returns the policy the flags ask for, or an error wrapping
// ErrUsage for a value that is not one.
func (p *Policy) Audit() (audit.Policy, error) {
	pol := audit.Policy{
		Radii:               &p.Radii,
		ReviewConstrained:   p.ReviewConstrained,
		AllowRightsNotices:  p.AllowRights,
		AllowPrivacy:        p.AllowPrivacy,
		IgnoreLegacyLabels:  p.IgnoreLegacyLabels,
		AllowMetadataErrors: p.AllowMetadataErrors,
	}
	pol.URLUnknown = p.URLUnknown // checked as the flag was parsed (Verdict.UnmarshalText)
	if p.MaxPixels < 0 || p.MaxFileMB < 0 {
		return pol, fmt.Errorf("%w: --max-pixels and --max-file-mb cannot be negative", ErrUsage)
	}
	return pol, nil
}

// RegistryOptions are the registry settings the flags ask for: through the
// saved index when "registry build" made one, rebuilt for the radii asked
// when a registry file changed.
func (p *Policy) RegistryOptions() registry.Options {
	radii := p.Radii
	return registry.Options{AllowDegenerate: p.AllowDegenerate, SkipBadLines: p.SkipBadLines,
		Index: registry.IndexWhenFresh, Radii: &radii}
}

// MaxFileBytes is --max-file-mb in bytes (0: the default).
func (p *Policy) MaxFileBytes() int64 { return p.MaxFileMB << 20 }

// URLs holds the URL-check flags.
type URLs struct {
	Check        bool
	Cache        string
	CacheTTL     time.Duration
	Concurrency  int
	PerHost      int
	Timeout      time.Duration
	Retries      int
	HeadersOnly  bool
	AllowPrivate bool
	Evidence     string

	cache bool // the command keeps a cache file
}

// Register defines the flags on fs; withCache adds --url-cache and
// --url-cache-ttl, for a command that keeps a cache file (the Beam
// pipeline's workers do not).
func (u *URLs) Register(fs *flag.FlagSet, withCache bool) {
	u.cache = withCache
	fs.BoolVar(&u.Check, "check-urls", false, "check every image URL for the opt-outs that travel with it (X-Robots-Tag, TDMRep, AI preferences, robots.txt, ai.txt): sends requests to the image hosts")
	if withCache {
		fs.StringVar(&u.Cache, "url-cache", "", "cache `file` of URL findings, read and rewritten so a re-run does not ask again (default: the --out report's name + .urls.jsonl)")
		fs.DurationVar(&u.CacheTTL, "url-cache-ttl", 24*time.Hour, "how long a cached URL finding stays good")
		fs.StringVar(&u.Evidence, "evidence", "", "keep every document that decided a URL finding (robots.txt, ai.txt, tdmrep.json, RSL licenses, response headers) in this `directory`, once by SHA-256, listed in its index.jsonl; added to, never rewritten")
	}
	fs.IntVar(&u.Concurrency, "url-concurrency", 32, "URL requests in flight at once (per worker process in Beam)")
	fs.IntVar(&u.PerHost, "url-per-host", 2, "URL requests in flight to one host at once (per worker process in Beam)")
	fs.DurationVar(&u.Timeout, "url-timeout", 10*time.Second, "time allowed each URL request")
	fs.IntVar(&u.Retries, "url-retries", 2, "retries of a URL request after a network error, a timeout, 429 or 5xx (backing off)")
	fs.BoolVar(&u.HeadersOnly, "url-headers-only", false, "check only the image responses' headers, not each site's robots.txt, ai.txt and tdmrep.json")
	fs.BoolVar(&u.AllowPrivate, "allow-private-addresses", false, "let URL fetches and checks connect to loopback, link-local, private and other internal addresses (refused by default: a dataset's URLs are untrusted)")
}

// CacheFile is the URL cache the flags name for a run writing report, ""
// for none.
func (u *URLs) CacheFile(report string) string {
	if !u.Check || !u.cache {
		return ""
	}
	if u.Cache == "" && report != "" && report != "-" {
		return report + ".urls.jsonl"
	}
	return u.Cache
}

// Options are the checker settings the flags ask for; the cache file is
// CacheFile(report).
func (u *URLs) Options(report string) urlcheck.Options {
	retries := u.Retries
	if retries == 0 {
		retries = -1 // the flag's 0 means none; the library's 0 means its default
	}
	return urlcheck.Options{CacheFile: u.CacheFile(report), CacheTTL: u.CacheTTL, Concurrency: u.Concurrency, PerHost: u.PerHost,
		Timeout: u.Timeout, Retries: retries, NoSiteFiles: u.HeadersOnly, AllowPrivateAddresses: u.AllowPrivate, EvidenceDir: u.evidenceDir()}
}

// evidenceDir is --evidence when URLs are checked, "" otherwise.
func (u *URLs) evidenceDir() string {
	if !u.Check {
		return ""
	}
	return u.Evidence
}

// Parquet holds the Parquet column flags.
type Parquet struct {
	Column, PathColumn string
}

// Register defines the flags on fs. --parquet-paths, the Beam pipeline's
// earlier name of --parquet-path-column, is kept as an alias.
func (p *Parquet) Register(fs *flag.FlagSet) {
	fs.StringVar(&p.Column, "parquet-column", "jpg", "in Parquet inputs, the `column` holding image bytes")
	fs.StringVar(&p.PathColumn, "parquet-path-column", "", "in Parquet inputs, a `column` of image file paths (instead of bytes)")
	fs.StringVar(&p.PathColumn, "parquet-paths", "", "the same as --parquet-path-column (an earlier name)")
}
