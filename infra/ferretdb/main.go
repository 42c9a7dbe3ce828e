// Command ferretdb runs an embedded FerretDB 1.x (MongoDB wire protocol) on a SQLite
// directory. It stands in for MongoDB on dev and CI machines, which have no Docker
// and no MongoDB packages; production uses the official mongo image.
package main

import (
	"context"
	"flag"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // served only with -pprof: where the server's CPU goes (docs/storage.md)
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dir := flag.String("dir", ".stack/ferretdb", "SQLite state directory")
	// NORMAL in WAL mode: a commit is durable once it is in the WAL file, so a killed server
	// (kill -9) loses no acknowledged write; only a power cut can lose the last commits. FULL
	// adds one fsync per write.
	synchronous := flag.String("synchronous", "normal", "SQLite synchronous pragma: normal or full")
	pprof := flag.String("pprof", "", "address for Go's profiler (net/http/pprof), e.g. 127.0.0.1:6060; off when empty")
	flag.Parse()
	if *pprof != "" {
		go func() { slog.Warn("pprof stopped", "err", http.ListenAndServe(*pprof, nil)) }() //nolint:gosec // loopback, opt-in
	}

	abs, err := filepath.Abs(*dir)
	if err != nil {
		slog.Error("bad state dir", "err", err)
		os.Exit(2)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		slog.Error("cannot create state dir", "err", err)
		os.Exit(2)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file://" + abs + "/?_pragma=synchronous(" + *synchronous + ")",
	})
	if err != nil {
		// Most often: the port is already taken.
		slog.Error("cannot start FerretDB", "err", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	slog.Info("FerretDB listening", "uri", f.MongoDBURI())
	f.Run(ctx)
}
