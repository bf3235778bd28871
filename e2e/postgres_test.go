//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"cartstream/internal/shopsim"
)

// The shop database schema the design (§4) fixes, as information_schema
// reports it: table.column type NULL|NOT NULL, with the type's modifiers.
var wantColumns = []string{
	"inventory.sku text NOT NULL",
	"inventory.on_hand int4 NOT NULL",
	"inventory.version int8 NOT NULL",
	"inventory.updated_at timestamptz NOT NULL",
	"outbox.id uuid NOT NULL",
	"outbox.aggregatetype text NOT NULL",
	"outbox.aggregateid text NOT NULL",
	"outbox.type text NOT NULL",
	"outbox.payload jsonb NULL",
	"products.sku text NOT NULL",
	"products.name text NOT NULL",
	"products.category text NOT NULL",
	"products.brand text NOT NULL",
	"products.price numeric(12,2) NOT NULL",
	"products.currency bpchar(3) NOT NULL",
	"products.active bool NOT NULL",
	"products.updated_at timestamptz NOT NULL",
	"promotions.id text NOT NULL",
	"promotions.name text NOT NULL",
	"promotions.active bool NOT NULL",
	"promotions.priority int4 NOT NULL",
	"promotions.stacking text NOT NULL",
	"promotions.coupon_code text NULL",
	"promotions.valid_from timestamptz NULL",
	"promotions.valid_until timestamptz NULL",
	"promotions.segments _text NOT NULL",
	"promotions.currency bpchar(3) NOT NULL",
	"promotions.condition jsonb NOT NULL",
	"promotions.target jsonb NOT NULL",
	"promotions.effect jsonb NOT NULL",
	"promotions.max_discount numeric(12,2) NULL",
}

// columnsQuery lists the public tables' columns in the form of wantColumns.
const columnsQuery = `
	SELECT table_name || '.' || column_name || ' ' || udt_name ||
	       CASE udt_name WHEN 'numeric' THEN '(' || numeric_precision || ',' || numeric_scale || ')'
	                     WHEN 'bpchar' THEN '(' || character_maximum_length || ')' ELSE '' END ||
	       CASE is_nullable WHEN 'YES' THEN ' NULL' ELSE ' NOT NULL' END
	  FROM information_schema.columns
	 WHERE table_schema = 'public'
	 ORDER BY table_name, ordinal_position`

// connectField is one field of a Kafka Connect schema in JSON.
type connectField struct {
	Type       string            `json:"type"`
	Optional   bool              `json:"optional"`
	Name       string            `json:"name"`
	Parameters map[string]string `json:"parameters"`
	Items      *connectField     `json:"items"`
	Field      string            `json:"field"`
}

// describe renders the parts of a field Debezium derives from the column.
func (f connectField) describe() string {
	d := f.Type
	if f.Name != "" {
		d += " " + f.Name
	}
	if f.Name == "org.apache.kafka.connect.data.Decimal" {
		d += fmt.Sprintf("(%s,%s)", f.Parameters["connect.decimal.precision"], f.Parameters["scale"])
	}
	if f.Items != nil {
		d += " of " + f.Items.describe()
	}
	if f.Optional {
		d += " optional"
	}
	return d
}

// debeziumType is the Connect schema Debezium 2.5's PostgreSQL connector
// gives a column type (decimal.handling.mode=precise,
// time.precision.mode=adaptive), as connectField.describe renders it.
func debeziumType(udt string) (string, bool) {
	if p, ok := strings.CutPrefix(udt, "numeric("); ok {
		return "bytes org.apache.kafka.connect.data.Decimal(" + p, true
	}
	d, ok := map[string]string{
		"text":        "string",
		"bpchar(3)":   "string",
		"bool":        "boolean",
		"int4":        "int32",
		"int8":        "int64",
		"timestamptz": "string io.debezium.time.ZonedTimestamp",
		"jsonb":       "string io.debezium.data.Json",
		"_text":       "array of string optional",
		"uuid":        "string io.debezium.data.Uuid",
	}[udt]
	return d, ok
}

// TestPostgresShopSchema starts a real PostgreSQL server from the Debian
// packages, loads deploy/postgres/schema.sql and seed.sql, and checks the
// tables, keys, replica identities and publication Debezium relies on, and
// that the order transaction works and cannot oversell.
func TestPostgresShopSchema(t *testing.T) {
	pg := startPostgres(t)
	pg.load(t, "../deploy/postgres/schema.sql")
	pg.load(t, "../deploy/postgres/seed.sql")

	t.Run("columns", func(t *testing.T) {
		got := pg.rows(t, columnsQuery)
		if strings.Join(got, "\n") != strings.Join(wantColumns, "\n") {
			t.Errorf("columns\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantColumns, "\n"))
		}
	})

	t.Run("the simulator's change events match these columns", func(t *testing.T) {
		dbColumns := pg.rows(t, columnsQuery)
		sim := shopsim.New(1, shopsim.Options{})
		snapshot := sim.SnapshotCatalog(1, 1)
		if _, err := sim.Restock(shopsim.SKU(1), 1); err != nil {
			t.Fatal(err)
		}
		_, outbox, err := sim.PlaceOrder("o-1", "co-1", "c-1", []shopsim.Line{{SKU: shopsim.SKU(1), Qty: 1}})
		if err != nil {
			t.Fatal(err)
		}
		simColumns := map[string]connectField{}
		for _, r := range snapshot {
			table := strings.TrimPrefix(r.Topic, "shop.public.")
			var v struct {
				Schema struct {
					Fields []struct {
						Field  string         `json:"field"`
						Fields []connectField `json:"fields"`
					} `json:"fields"`
				} `json:"schema"`
			}
			if err := json.Unmarshal(r.Value, &v); err != nil {
				t.Fatal(err)
			}
			for _, env := range v.Schema.Fields {
				if env.Field == "after" {
					for _, f := range env.Fields {
						simColumns[table+"."+f.Field] = f
					}
				}
			}
		}
		// The router publishes two outbox columns: aggregateid as the key,
		// payload as the value.
		for col, raw := range map[string][]byte{"outbox.aggregateid": outbox.Key, "outbox.payload": outbox.Value} {
			var v struct {
				Schema connectField `json:"schema"`
			}
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			simColumns[col] = v.Schema
		}
		checked := 0
		for _, row := range dbColumns {
			name, rest, _ := strings.Cut(row, " ")
			f, ok := simColumns[name]
			if !ok {
				continue // outbox columns the router does not publish
			}
			checked++
			typ, nullable, _ := strings.Cut(rest, " ")
			want, known := debeziumType(typ)
			if !known {
				t.Errorf("%s: no Debezium mapping for %s", name, typ)
				continue
			}
			got := f.describe()
			want += map[string]string{"NULL": " optional", "NOT NULL": ""}[nullable]
			if got != want {
				t.Errorf("%s (%s): simulator writes %s, Debezium would write %s", name, rest, got, want)
			}
		}
		if checked != len(simColumns) {
			t.Errorf("checked %d columns, the simulator has %d: columns missing from the database", checked, len(simColumns))
		}
	})

	t.Run("primary keys", func(t *testing.T) {
		got := pg.rows(t, `
			SELECT tc.table_name || ' ' || string_agg(kcu.column_name, ',' ORDER BY kcu.ordinal_position)
			  FROM information_schema.table_constraints tc
			  JOIN information_schema.key_column_usage kcu USING (constraint_schema, constraint_name, table_name)
			 WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = 'public'
			 GROUP BY tc.table_name ORDER BY tc.table_name`)
		want := []string{"inventory sku", "outbox id", "products sku", "promotions id"}
		if strings.Join(got, ";") != strings.Join(want, ";") {
			t.Errorf("primary keys %v, want %v", got, want)
		}
	})

	t.Run("replica identity and publication", func(t *testing.T) {
		ident := pg.rows(t, `SELECT relname || ' ' || relreplident::text FROM pg_class
			WHERE relname IN ('products', 'promotions', 'inventory', 'outbox') AND relkind = 'r' ORDER BY relname`)
		if want := []string{"inventory d", "outbox d", "products d", "promotions d"}; strings.Join(ident, ";") != strings.Join(want, ";") {
			t.Errorf("replica identities %v, want DEFAULT (d) everywhere: %v", ident, want)
		}
		pub := pg.rows(t, `SELECT tablename FROM pg_publication_tables WHERE pubname = 'dbz_publication' ORDER BY tablename`)
		if want := []string{"inventory", "outbox", "products", "promotions"}; strings.Join(pub, ";") != strings.Join(want, ";") {
			t.Errorf("dbz_publication tables %v, want %v", pub, want)
		}
		if wal := pg.rows(t, `SHOW wal_level`); len(wal) != 1 || wal[0] != "logical" {
			t.Errorf("wal_level %v", wal)
		}
	})

	t.Run("seeded order carries its inventory versions", func(t *testing.T) {
		pg.checkOrder(t, "o-seed-1", map[string][2]int{"SKU-00001": {1, 2}, "SKU-00002": {3, 2}})
		if got := pg.stock(t, "SKU-00001"); got != [2]int64{24, 2} {
			t.Errorf("SKU-00001 on_hand/version %v, want [24 2]", got)
		}
	})

	// SKU-00003 starts with 4 on hand at version 1; SKU-00005 with 0.
	orders := []struct {
		name      string
		orderID   string
		lines     [][2]any // sku, qty
		rejected  bool
		wantStock map[string][2]int64 // after the attempt
	}{
		{"order decrements and bumps versions", "o-e2e-1", [][2]any{{"SKU-00003", 2}, {"SKU-00004", 1}}, false,
			map[string][2]int64{"SKU-00003": {2, 2}, "SKU-00004": {59, 2}}},
		{"oversold line is rejected by the CHECK", "o-e2e-2", [][2]any{{"SKU-00003", 3}}, true,
			map[string][2]int64{"SKU-00003": {2, 2}}},
		{"one oversold line rolls the whole order back", "o-e2e-3", [][2]any{{"SKU-00004", 1}, {"SKU-00005", 1}}, true,
			map[string][2]int64{"SKU-00004": {59, 2}, "SKU-00005": {0, 1}}},
		{"selling the last units empties the row", "o-e2e-4", [][2]any{{"SKU-00003", 2}}, false,
			map[string][2]int64{"SKU-00003": {0, 3}}},
	}
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			var values []string
			for _, l := range o.lines {
				values = append(values, fmt.Sprintf("('%s', %d)", l[0], l[1]))
			}
			_, err := pg.psql(t, orderTransaction(o.orderID, values))
			switch {
			case o.rejected && err == nil:
				t.Fatal("the oversold order committed")
			case o.rejected && !strings.Contains(err.Error(), `violates check constraint "inventory_on_hand_not_negative"`):
				t.Fatalf("rejected for another reason: %v", err)
			case !o.rejected && err != nil:
				t.Fatal(err)
			}
			for sku, want := range o.wantStock {
				if got := pg.stock(t, sku); got != want {
					t.Errorf("%s on_hand/version %v, want %v", sku, got, want)
				}
			}
			n := pg.rows(t, fmt.Sprintf(`SELECT count(*) FROM outbox WHERE aggregateid = '%s'`, o.orderID))
			if want := map[bool]string{true: "0", false: "1"}[o.rejected]; len(n) != 1 || n[0] != want {
				t.Errorf("%v outbox rows for %s, want %s", n, o.orderID, want)
			}
			if !o.rejected {
				want := map[string][2]int{}
				for _, l := range o.lines {
					sku := l[0].(string)
					want[sku] = [2]int{l[1].(int), int(o.wantStock[sku][1])}
				}
				pg.checkOrder(t, o.orderID, want)
			}
		})
	}

	t.Run("constraints reject bad rows", func(t *testing.T) {
		cases := []struct{ sql, constraint string }{
			{`UPDATE products SET price = -1 WHERE sku = 'SKU-00001'`, "products_price_not_negative"},
			{`UPDATE products SET currency = 'usd' WHERE sku = 'SKU-00001'`, "products_currency_iso4217"},
			{`UPDATE promotions SET stacking = 'sometimes' WHERE id = 'promo-0001'`, "promotions_stacking_known"},
			{`UPDATE promotions SET effect = '{"bps": 1000}' WHERE id = 'promo-0001'`, "promotions_effect_typed"},
			{`UPDATE promotions SET valid_from = now(), valid_until = now() - interval '1 day' WHERE id = 'promo-0001'`, "promotions_window_ordered"},
			{`UPDATE inventory SET on_hand = -1 WHERE sku = 'SKU-00001'`, "inventory_on_hand_not_negative"},
		}
		for _, c := range cases {
			if _, err := pg.psql(t, c.sql); err == nil || !strings.Contains(err.Error(), c.constraint) {
				t.Errorf("%s: %v, want a violation of %s", c.sql, err, c.constraint)
			}
		}
	})
}

// orderTransaction is the order service's transaction for one order: each
// line decrements on_hand and bumps version, and one outbox row records the
// lines with the versions their decrements produced. An order naming an
// unknown SKU would record fewer lines; the test uses known SKUs only.
func orderTransaction(orderID string, values []string) string {
	return fmt.Sprintf(`BEGIN;
WITH line (sku, qty) AS (VALUES %s),
decremented AS (
    UPDATE inventory AS i
       SET on_hand = i.on_hand - line.qty, version = i.version + 1, updated_at = now()
      FROM line WHERE i.sku = line.sku
    RETURNING i.sku, line.qty, i.version)
INSERT INTO outbox (aggregatetype, aggregateid, type, payload)
SELECT 'order', '%[2]s', 'OrderPlaced',
       jsonb_build_object('order_id', '%[2]s', 'checkout_id', 'co-' || '%[2]s', 'cart_id', 'c-' || '%[2]s',
           'lines', jsonb_agg(jsonb_build_object('sku', sku, 'qty', qty, 'inventory_version', version) ORDER BY sku))
  FROM decremented;
COMMIT;
`, strings.Join(values, ", "), orderID)
}

// pgServer is one PostgreSQL server the test started.
type pgServer struct {
	bin     string // directory of initdb, pg_ctl, psql
	base    string // temp dir holding data, sockets and the log
	data    string
	sockets string
	port    int
	cred    *syscall.Credential // nil: run as the current user
}

// startPostgres initialises a cluster in a temp dir and starts it on a free
// port, as the postgres user when the test runs as root (the server refuses
// to run as root). The server is stopped and its files removed when the
// test ends.
func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	bin := postgresBinDir()
	if bin == "" {
		t.Skip("PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin or on PATH): apt-get install postgresql; .ci/run installs it")
	}
	pg := &pgServer{bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("running as root and there is no postgres user to run the server as: %v", err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		pg.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}

	base, err := os.MkdirTemp("", "cartstream-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	pg.base, pg.data, pg.sockets = base, filepath.Join(base, "data"), filepath.Join(base, "s")
	if err := os.Mkdir(pg.sockets, 0o700); err != nil {
		t.Fatal(err)
	}
	if pg.cred != nil {
		for _, dir := range []string{base, pg.sockets} {
			if err := os.Chown(dir, int(pg.cred.Uid), int(pg.cred.Gid)); err != nil {
				t.Fatal(err)
			}
		}
	}

	begin := time.Now()
	if out, err := pg.run(t, "initdb", "-D", pg.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	// Stop the server whatever happens next, even if starting it failed
	// half way.
	t.Cleanup(func() { pg.stop(t) })

	const attempts = 3
	for attempt := 1; ; attempt++ {
		_, portText, _ := net.SplitHostPort(freeAddr(t))
		pg.port, _ = strconv.Atoi(portText)
		// Later settings win, so a retry just appends its port.
		conf := fmt.Sprintf("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n"+
			"wal_level = logical\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n", pg.port, pg.sockets)
		f, err := os.OpenFile(filepath.Join(pg.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteString(conf)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		out, err := pg.run(t, "pg_ctl", "-D", pg.data, "-l", filepath.Join(base, "server.log"), "-w", "-t", "60", "start")
		if err == nil {
			break
		}
		if attempt == attempts {
			log, _ := os.ReadFile(filepath.Join(base, "server.log"))
			t.Fatalf("pg_ctl start: %v\n%s\nserver log:\n%s", err, out, log)
		}
	}
	t.Logf("PostgreSQL from %s up on port %d in %s", bin, pg.port, time.Since(begin).Round(time.Millisecond))
	return pg
}

// postgresBinDir finds the newest Debian PostgreSQL installation, else the
// one on PATH.
func postgresBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(filepath.Dir(dirs[i]))), 64)
		vj, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(filepath.Dir(dirs[j]))), 64)
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(filepath.Dir(d), "pg_ctl")); err == nil {
			return filepath.Dir(d)
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// run runs one of the server's programs as the server's user and returns
// its combined output.
func (pg *pgServer) run(t *testing.T, prog string, args ...string) (string, error) {
	t.Helper()
	return pg.runInput(t, "", prog, args...)
}

func (pg *pgServer) runInput(t *testing.T, stdin, prog string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(pg.bin, prog), args...)
	cmd.Dir = pg.base
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// pg_ctl leaves the server running in the background; never wait on
	// pipes it might hold.
	cmd.WaitDelay = 10 * time.Second
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "LC_") && !strings.HasPrefix(kv, "LANG=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "HOME="+pg.base, "LANG=C", "PGTZ=UTC")
	if pg.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	}
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", prog, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// psql runs SQL with ON_ERROR_STOP and returns unaligned, tuples-only
// output; the error carries psql's message (and so the SQL error).
func (pg *pgServer) psql(t *testing.T, sql string) (string, error) {
	t.Helper()
	return pg.runInput(t, sql, "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-h", pg.sockets, "-p", strconv.Itoa(pg.port), "-U", "postgres", "-d", "postgres", "-f", "-")
}

// load runs a SQL file of the repository.
func (pg *pgServer) load(t *testing.T, path string) {
	t.Helper()
	sql, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pg.psql(t, string(sql)); err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
}

// rows runs a query and returns its rows (one column each).
func (pg *pgServer) rows(t *testing.T, query string) []string {
	t.Helper()
	out, err := pg.psql(t, query)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			rows = append(rows, l)
		}
	}
	return rows
}

// stock returns a SKU's on_hand and version.
func (pg *pgServer) stock(t *testing.T, sku string) [2]int64 {
	t.Helper()
	r := pg.rows(t, fmt.Sprintf(`SELECT on_hand || ' ' || version FROM inventory WHERE sku = '%s'`, sku))
	if len(r) != 1 {
		t.Fatalf("inventory %s: %v", sku, r)
	}
	var s [2]int64
	if _, err := fmt.Sscan(r[0], &s[0], &s[1]); err != nil {
		t.Fatal(err)
	}
	return s
}

// checkOrder checks an order's outbox row: its routing columns and, per
// SKU, the quantity and the inventory_version of each line.
func (pg *pgServer) checkOrder(t *testing.T, orderID string, want map[string][2]int) {
	t.Helper()
	r := pg.rows(t, fmt.Sprintf(`SELECT aggregatetype || ' ' || type || ' ' || payload::text FROM outbox WHERE aggregateid = '%s'`, orderID))
	if len(r) != 1 {
		t.Fatalf("outbox rows for %s: %v", orderID, r)
	}
	parts := strings.SplitN(r[0], " ", 3)
	if parts[0] != "order" || parts[1] != "OrderPlaced" {
		t.Errorf("%s: aggregatetype %q type %q", orderID, parts[0], parts[1])
	}
	var p struct {
		OrderID string `json:"order_id"`
		Lines   []struct {
			SKU     string `json:"sku"`
			Qty     int    `json:"qty"`
			Version int    `json:"inventory_version"`
		} `json:"lines"`
	}
	if err := json.Unmarshal([]byte(parts[2]), &p); err != nil {
		t.Fatalf("%s payload %s: %v", orderID, parts[2], err)
	}
	if p.OrderID != orderID || len(p.Lines) != len(want) {
		t.Fatalf("%s payload %s, want %d lines", orderID, parts[2], len(want))
	}
	for _, l := range p.Lines {
		if w, ok := want[l.SKU]; !ok || l.Qty != w[0] || l.Version != w[1] {
			t.Errorf("%s line %+v, want qty/version %v", orderID, l, w)
		}
	}
}

// stop stops the server (immediate shutdown: the data is thrown away) and,
// should pg_ctl fail, kills the postmaster the test started.
func (pg *pgServer) stop(t *testing.T) {
	if _, err := os.Stat(filepath.Join(pg.data, "postmaster.pid")); err != nil {
		return // never started, or already stopped
	}
	if out, err := pg.run(t, "pg_ctl", "-D", pg.data, "-m", "immediate", "-w", "-t", "30", "stop"); err == nil {
		return
	} else {
		t.Logf("pg_ctl stop: %v\n%s", err, out)
	}
	pidFile, err := os.ReadFile(filepath.Join(pg.data, "postmaster.pid"))
	if err != nil {
		return
	}
	first, _, _ := strings.Cut(string(pidFile), "\n")
	if pid, err := strconv.Atoi(strings.TrimSpace(first)); err == nil && pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}
