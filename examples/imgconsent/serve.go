package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/imgconsent/imgconsent/audit/serve"
)

func cmdServe(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: imgconsent serve --registry FILE... [--addr HOST:PORT] [flags]\n\n"+
			"Answers hash, match and check queries over HTTP from registries held in memory (through\n"+
			"their saved index), with the endpoints of Meta's HMA where they overlap. SIGHUP or\n"+
			"POST /reload loads the registries again; queries in flight finish on the old ones.\n"+
			"Endpoints: docs/serve.md.\n\n")
		fs.PrintDefaults()
	}
	var pf policyFlags
	pf.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "listen on this `address`")
	maxBodyMB := fs.Int64("max-body-mb", 32, "the largest request body, in MiB")
	maxDecodes := fs.Int("max-decodes", 0, "images decoded at once (0: one per CPU)")
	timeout := fs.Duration("timeout", 30*time.Second, "the most time a request may take")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if len(pf.Registries) == 0 {
		return fmt.Errorf("%w: want --registry", errUsage)
	}
	pol, err := pf.Audit()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	s, err := serve.New(serve.Options{Registries: pf.Registries, Registry: pf.RegistryOptions(), Policy: pol,
		MaxBodyBytes: *maxBodyMB << 20, MaxPixels: pf.MaxPixels, MaxDecodes: *maxDecodes, Timeout: *timeout, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: *timeout, WriteTimeout: *timeout + 5*time.Second,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				if err := s.Reload(); err != nil {
					log.Error("reload failed; the registries in place stay", "error", err.Error())
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	log.Info("serving", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Finish the requests in flight, then stop.
	shutdown, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	log.Info("stopped")
	return nil
}
