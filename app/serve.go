package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge-bot/config"
)

func cmdServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (YAML); every key also has an environment variable")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	cfg, err := config.Load(*path, os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "tinyforge-bot serve: %v\n", err)
		return 1
	}
	logger := newLogger(cfg.Logging, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	srv, err := NewServer(ctx, cfg, logger)
	if err != nil {
		fmt.Fprintf(stderr, "tinyforge-bot serve: %v\n", err)
		return 1
	}
	defer srv.Close()
	l, err := net.Listen("tcp", cfg.Server.Addr())
	if err != nil {
		fmt.Fprintf(stderr, "tinyforge-bot serve: listen on %s: %v\n", cfg.Server.Addr(), err)
		return 1
	}
	if err := srv.Serve(ctx, l); err != nil {
		logger.Error().Err(err).Msg("server stopped with an error")
		return 1
	}
	return 0
}

// newLogger builds the process logger from the logging block.
func newLogger(c config.Logging, w io.Writer) zerolog.Logger {
	level, err := zerolog.ParseLevel(strings.ToLower(c.Level))
	if err != nil || c.Level == "" {
		level = zerolog.InfoLevel
	}
	if c.Format == "text" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05"}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}
