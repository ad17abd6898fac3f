package app

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tinyforge/tinyforge-bot/config"
	"github.com/tinyforge/tinyforge-bot/store"
)

// storeFlags are the flags of the commands that only read the store: they
// need the store block of the config, not the secrets, so an operator can
// read the audit log where the app's secrets are not mounted.
type storeFlags struct {
	config, dsn, format *string
}

func addStoreFlags(fs *flag.FlagSet) storeFlags {
	return storeFlags{
		config: fs.String("config", "", "config file whose store block to use"),
		dsn:    fs.String("dsn", "", "store DSN (overrides the config; default "+config.DefaultStoreDSN+")"),
		format: fs.String("format", "text", "output format: text or json"),
	}
}

func (f storeFlags) open(ctx context.Context) (*store.SQLite, error) {
	driver, dsn := config.DefaultStoreDriver, config.DefaultStoreDSN
	if *f.config != "" {
		data, err := os.ReadFile(*f.config)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		var doc struct {
			Store config.Store `yaml:"store"`
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("config %s: %w", *f.config, err)
		}
		if doc.Store.Driver != "" {
			driver = doc.Store.Driver
		}
		if doc.Store.DSN != "" {
			dsn = doc.Store.DSN
		}
	}
	if v := os.Getenv("TINYFORGE_BOT_STORE_DSN"); v != "" {
		dsn = v
	}
	if *f.dsn != "" {
		dsn = *f.dsn
	}
	if _, err := os.Stat(dsn); err != nil {
		return nil, fmt.Errorf("store %s: %w", dsn, err)
	}
	return store.Open(ctx, driver, dsn)
}

func cmdAudit(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addStoreFlags(fs)
	repo := fs.String("repo", "", "only records of this repository (owner/name)")
	since := fs.String("since", "", "only records at or after this time (RFC 3339, or a duration like 24h)")
	limit := fs.Int("limit", 0, "at most this many records (0: all)")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	if *sf.format != "text" && *sf.format != "json" {
		fmt.Fprintf(stderr, "tinyforge-bot audit: --format must be text or json, got %q\n", *sf.format)
		return 1
	}
	filter := store.AuditFilter{Repo: *repo, Limit: *limit}
	if *since != "" {
		t, err := parseSince(*since, time.Now())
		if err != nil {
			fmt.Fprintf(stderr, "tinyforge-bot audit: --since: %v\n", err)
			return 1
		}
		filter.Since = t
	}
	ctx := context.Background()
	st, err := sf.open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "tinyforge-bot audit: %v\n", err)
		return 1
	}
	defer st.Close()
	recs, err := st.ListAudit(ctx, filter)
	if err != nil {
		fmt.Fprintf(stderr, "tinyforge-bot audit: %v\n", err)
		return 1
	}
	if *sf.format == "json" {
		enc := json.NewEncoder(stdout)
		for _, r := range recs {
			if err := enc.Encode(r); err != nil {
				return 1
			}
		}
		return 0
	}
	writeAuditTable(stdout, recs)
	return 0
}

func writeAuditTable(w io.Writer, recs []store.AuditRecord) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tREPO\t#\tACTOR\tPERMISSION\tWORKLOAD\tSHA\tOUTCOME\tDETAIL")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Time.UTC().Format(time.RFC3339), r.Repo, r.Number,
			r.ActorLogin, r.Permission, dash(r.Workload), dash(shortSHA(r.SHA)), r.Outcome, auditDetail(r))
	}
	tw.Flush()
}

func auditDetail(r store.AuditRecord) string {
	var parts []string
	for _, c := range r.Changes {
		parts = append(parts, fmt.Sprintf("%s: %v → %v", c.Field, jsonish(c.From), jsonish(c.To)))
	}
	if r.TinyforgeEventID != "" {
		parts = append(parts, "event "+r.TinyforgeEventID)
	}
	if r.Error != "" {
		parts = append(parts, r.Error)
	}
	return strings.Join(parts, "; ")
}

func cmdDeliveries(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("deliveries", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addStoreFlags(fs)
	state := fs.String("state", store.StateDead, "pending, done or dead")
	limit := fs.Int("limit", 100, "at most this many")
	requeue := fs.String("requeue", "", "make this dead delivery pending again (the running bot picks it up)")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	ctx := context.Background()
	st, err := sf.open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "tinyforge-bot deliveries: %v\n", err)
		return 1
	}
	defer st.Close()
	if *requeue != "" {
		if err := st.Requeue(ctx, *requeue); err != nil {
			fmt.Fprintf(stderr, "tinyforge-bot deliveries: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "delivery %s is pending again\n", *requeue)
		return 0
	}
	ds, err := st.ListDeliveries(ctx, *state, *limit)
	if err != nil {
		fmt.Fprintf(stderr, "tinyforge-bot deliveries: %v\n", err)
		return 1
	}
	if *sf.format == "json" {
		enc := json.NewEncoder(stdout)
		for _, d := range ds {
			d.Payload = nil // payloads are large and not what an operator scans for
			if err := enc.Encode(d); err != nil {
				return 1
			}
		}
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RECEIVED\tDELIVERY\tEVENT\tSTATE\tATTEMPTS\tLAST ERROR")
	for _, d := range ds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", d.ReceivedAt.UTC().Format(time.RFC3339), d.ID, d.Event, d.State, d.Attempts, dash(d.LastError))
	}
	tw.Flush()
	return 0
}

func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor a duration", s)
	}
	return t, nil
}

func jsonish(v any) string {
	if v == nil {
		return "unset"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
