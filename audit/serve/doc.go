// Package serve answers match queries over HTTP, for pipelines in any
// language: it holds registries in memory (through their saved index) and
// hashes, matches and checks what clients send.
//
// Endpoints (JSON; a bad request is a 4xx with {"error": "…"}):
//
//	POST /hash          an image (the body, or one multipart file): its record
//	                    fields as a report holds them (hashes, format, metadata)
//	POST /check         an image: the record as `imgconsent inspect --json` prints
//	                    it — hashes, signals, matches, verdict and reasons, and
//	                    its near misses
//	GET  /match         ?hash=pdq:… (repeatable; any algorithm a registry holds)
//	POST /match         {"hashes": ["pdq:…", "sha256:…"], "radii": {…}}
//	POST /reload        load the registries again; queries in flight finish on
//	                    the registry they started with
//	GET  /healthz       alive;  GET /readyz: a registry is loaded
//	GET  /metrics       Prometheus text format
//
// and the endpoints of Meta's Hasher-Matcher-Actioner (HMA) that overlap:
// POST /h/hash (a multipart "photo" file → {"pdq": …, "md5": …}),
// GET /m/raw_lookup (?signal=…&signal_type=pdq|md5[&include_distance=true] →
// {"matches": [content ids]}), GET /m/lookup (→ the names of the banks
// matched: here the registry files) and POST /m/lookup (an uploaded photo →
// {"pdq": [banks], "md5": [banks]}), GET /m/index/status. HMA's ?url=
// forms are refused: the server fetches nothing on a client's behalf,
// neither a URL nor a file path.
//
// Limits: a request body (Options.MaxBodyBytes), an image's pixels
// (Options.MaxPixels), images decoded at once (Options.MaxDecodes), and the
// time a request may take (Options.Timeout).
package serve
