package urlcheck_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/imgconsent/imgconsent/audit/urlcheck"
)

func ExampleChecker_Check() {
	// A site that marks its images and reserves text and data mining.
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			fmt.Fprint(w, "User-agent: *\nContent-Usage: /photo train-ai=n\nContent-Signal: search=yes, ai-train=no\n")
		case "/photo.jpg":
			w.Header().Set("X-Robots-Tag", "noimageai")
		default:
			http.NotFound(w, r)
		}
	}))
	defer site.Close()

	// The example's site is on loopback, which a scan refuses by default.
	c, err := urlcheck.New(urlcheck.Options{AllowPrivateAddresses: true})
	if err != nil {
		panic(err)
	}
	res := c.Check(context.Background(), site.URL+"/photo.jpg")
	fmt.Println("status", res.Status)
	for _, s := range res.Signals {
		fmt.Printf("%s %s %q: %s — %s\n", s.Source, s.Field, s.Value, s.Meaning, s.Detail)
	}
	// Output:
	// status 200
	// http X-Robots-Tag "noimageai": optout — no use of the image for AI
	// aipref robots.txt Content-Usage "train-ai=n": optout — AI training disallowed (train-ai=n) (User-agent: *, line 2)
	// content-signal robots.txt Content-Signal "search=yes, ai-train=no": optout — ai-train=no: training or fine-tuning AI models not allowed; search=yes: building a search index and providing search results allowed (User-agent: *, line 3)
}
