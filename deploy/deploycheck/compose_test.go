package deploycheck

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"cartstream/topology"
)

const composeFile = "deploy/docker-compose.yml"

// composeService is the part of a compose service the checks read.
type composeService struct {
	name string
	raw  map[string]any
}

func (s composeService) image() string     { return str(s.raw["image"]) }
func (s composeService) command() []string { return strList(s.raw["command"]) }
func (s composeService) profiles() []string {
	return strList(s.raw["profiles"])
}

// env returns the service's environment with ${VAR} and ${VAR:-default}
// interpolated from deploy/.env, as docker compose does.
func (s composeService) env(t *testing.T) map[string]string {
	out := map[string]string{}
	m, _ := s.raw["environment"].(map[string]any)
	for k, v := range m {
		out[k] = interpolate(t, str(v))
	}
	return out
}

// volumes returns source → target of the service's volumes.
func (s composeService) volumes() map[string]string {
	out := map[string]string{}
	for _, v := range strList(s.raw["volumes"]) {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 {
			out[parts[0]] = parts[1]
		}
	}
	return out
}

func (s composeService) dependsOn() map[string]string {
	out := map[string]string{}
	switch d := s.raw["depends_on"].(type) {
	case []any:
		for _, n := range d {
			out[str(n)] = "service_started"
		}
	case map[string]any:
		for n, c := range d {
			out[n] = str(get(c, "condition"))
		}
	}
	return out
}

func composeServices(t *testing.T) map[string]composeService {
	t.Helper()
	docs := loadYAML(t, composeFile)
	if len(docs) != 1 {
		t.Fatalf("%s: %d documents", composeFile, len(docs))
	}
	svcs, _ := docs[0]["services"].(map[string]any)
	out := map[string]composeService{}
	for name, raw := range svcs {
		m, _ := raw.(map[string]any)
		out[name] = composeService{name: name, raw: m}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no services", composeFile)
	}
	return out
}

// dotEnv reads deploy/.env (KEY=VALUE lines, # comments).
func dotEnv(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(readRepoFile(t, "deploy/.env")))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("deploy/.env: bad line %q", line)
			continue
		}
		out[k] = v
	}
	return out
}

var composeVar = regexp.MustCompile(`\$\{([A-Z0-9_]+)(:-([^}]*))?\}`)

func interpolate(t *testing.T, s string) string {
	env := dotEnv(t)
	return composeVar.ReplaceAllStringFunc(s, func(m string) string {
		sub := composeVar.FindStringSubmatch(m)
		if v, ok := env[sub[1]]; ok && v != "" {
			return v
		}
		if sub[2] == "" {
			t.Errorf("%s: ${%s} has no value in deploy/.env and no default", composeFile, sub[1])
		}
		return sub[3]
	})
}

// cartstreamServices are the services running `cartstream run`.
func cartstreamServices(t *testing.T, svcs map[string]composeService) []composeService {
	t.Helper()
	var out []composeService
	for _, s := range svcs {
		if c := s.command(); len(c) > 0 && c[0] == "run" {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b composeService) int { return strings.Compare(a.name, b.name) })
	if len(out) < 2 {
		t.Fatalf("%s: %d cartstream instances, want at least two", composeFile, len(out))
	}
	return out
}

// TestComposeImagesArePinned: every image has an explicit tag that is not
// "latest"; locally built images name what they are built from.
func TestComposeImagesArePinned(t *testing.T) {
	for name, s := range composeServices(t) {
		img := s.image()
		if img == "" {
			t.Errorf("service %s: no image", name)
			continue
		}
		_, tag, ok := strings.Cut(path.Base(img), ":")
		if !ok || tag == "" || tag == "latest" {
			t.Errorf("service %s: image %q is not pinned to a version", name, img)
		}
	}
}

// TestComposeReferences: depends_on names existing services with valid
// conditions, no service depends on one of a profile it is not in, and
// every bind-mounted host path exists in deploy/.
func TestComposeReferences(t *testing.T) {
	svcs := composeServices(t)
	for name, s := range svcs {
		for dep, cond := range s.dependsOn() {
			d, ok := svcs[dep]
			if !ok {
				t.Errorf("service %s depends on unknown service %s", name, dep)
				continue
			}
			if !slices.Contains([]string{"service_started", "service_healthy", "service_completed_successfully"}, cond) {
				t.Errorf("service %s: depends_on %s has condition %q", name, dep, cond)
			}
			if cond == "service_healthy" && d.raw["healthcheck"] == nil {
				t.Errorf("service %s waits for %s to be healthy, which has no healthcheck", name, dep)
			}
			for _, p := range d.profiles() {
				if !slices.Contains(s.profiles(), p) {
					t.Errorf("service %s depends on %s, which only runs in profile %s", name, dep, p)
				}
			}
		}
		for src := range s.volumes() {
			if strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../") {
				if _, err := os.Stat(repoPath(path.Join("deploy", src))); err != nil {
					t.Errorf("service %s mounts %s: %v", name, src, err)
				}
			}
		}
		if b, ok := s.raw["build"].(string); ok {
			if _, err := os.Stat(repoPath(path.Join("deploy", b, "Dockerfile"))); err != nil {
				t.Errorf("service %s builds %s: %v", name, b, err)
			}
		}
		if ctx := str(get(s.raw["build"], "context")); ctx != "" {
			df := str(get(s.raw["build"], "dockerfile"))
			if _, err := os.Stat(repoPath(path.Join("deploy", ctx, df))); err != nil {
				t.Errorf("service %s builds %s/%s: %v", name, ctx, df, err)
			}
		}
	}
}

// TestComposeCartstreamInstances parses each instance's command and
// environment with the real flag set of `cartstream run`, then checks that
// they fit together: Kafka at the broker's internal listener, distinct
// instance ids, an advertised address other containers resolve (the service
// name) on the port the instance listens on, state on a volume, a stop grace
// period longer than --shutdown-timeout, and the topics' partition count
// the init script uses.
func TestComposeCartstreamInstances(t *testing.T) {
	svcs := composeServices(t)
	kafkaListeners := svcs["kafka"].env(t)["KAFKA_ADVERTISED_LISTENERS"]
	ids := map[string]string{}
	for _, s := range cartstreamServices(t, svcs) {
		env := s.env(t)
		cfg, _, err := parseRun(t, s.command()[1:], env, nil)
		if err != nil {
			t.Errorf("service %s: %v", s.name, err)
			continue
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("service %s: %v", s.name, err)
		}
		for _, b := range cfg.Brokers {
			if !strings.Contains(kafkaListeners, "//"+b) {
				t.Errorf("service %s: --brokers %s is none of Kafka's advertised listeners %s", s.name, b, kafkaListeners)
			}
		}
		if len(cfg.Brokers) == 0 {
			t.Errorf("service %s runs the embedded broker; want --brokers", s.name)
		}
		if prev, dup := ids[cfg.InstanceID]; dup || cfg.InstanceID == "" {
			t.Errorf("service %s: instance id %q (also %s)", s.name, cfg.InstanceID, prev)
		}
		ids[cfg.InstanceID] = s.name
		host, port, err := net.SplitHostPort(cfg.AdvertisedHTTP)
		if err != nil || (host != s.name && host != str(s.raw["hostname"])) {
			t.Errorf("service %s: --advertised-http %q does not name the service", s.name, cfg.AdvertisedHTTP)
		}
		lhost, lport, _ := net.SplitHostPort(cfg.HTTPListen)
		if lport != port || (lhost != "0.0.0.0" && lhost != "") {
			t.Errorf("service %s: listens on %s, advertises %s", s.name, cfg.HTTPListen, cfg.AdvertisedHTTP)
		}
		if !slices.Contains(mapValues(s.volumes()), cfg.DataDir) {
			t.Errorf("service %s: --data-dir %s is not a volume (%v)", s.name, cfg.DataDir, s.volumes())
		}
		grace, err := time.ParseDuration(str(s.raw["stop_grace_period"]))
		if err != nil || grace <= cfg.ShutdownTimeout {
			t.Errorf("service %s: stop_grace_period %q must exceed --shutdown-timeout %s (else Docker kills it mid-stop)", s.name, s.raw["stop_grace_period"], cfg.ShutdownTimeout)
		}
		if init := svcs["kafka-init"].env(t)["PARTITIONS"]; init != strconv.Itoa(cfg.Partitions) {
			t.Errorf("service %s: --partitions %d, kafka-init creates %s", s.name, cfg.Partitions, init)
		}
		if d := s.dependsOn()["kafka-init"]; d != "service_completed_successfully" {
			t.Errorf("service %s starts before the topics exist (depends_on kafka-init: %q)", s.name, d)
		}
		// The registry, when set, is the avro profile's schema registry.
		if cfg.Registry != "" && !strings.Contains(cfg.Registry, "//schema-registry:") {
			t.Errorf("service %s: --registry %s", s.name, cfg.Registry)
		}
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestComposeKafkaAndTopics: the init container runs the generated script
// against the broker, with a replication factor the one-broker cluster can
// give, and the other services wait for it.
func TestComposeKafkaAndTopics(t *testing.T) {
	svcs := composeServices(t)
	k := svcs["kafka"].env(t)
	if k["KAFKA_PROCESS_ROLES"] != "broker,controller" {
		t.Errorf("kafka: KAFKA_PROCESS_ROLES %q: want a KRaft combined node", k["KAFKA_PROCESS_ROLES"])
	}
	if !strings.Contains(k["KAFKA_ADVERTISED_LISTENERS"], "//kafka:9092") {
		t.Errorf("kafka: no internal listener kafka:9092 in %s", k["KAFKA_ADVERTISED_LISTENERS"])
	}
	init := svcs["kafka-init"]
	if src := "./kafka/create-topics.sh"; init.volumes()[src] == "" || !slices.Contains(strList(init.raw["entrypoint"]), init.volumes()[src]) {
		t.Errorf("kafka-init does not run %s (volumes %v, entrypoint %v)", src, init.volumes(), init.raw["entrypoint"])
	}
	env := init.env(t)
	if env["BOOTSTRAP_SERVER"] != "kafka:9092" || env["REPLICATION_FACTOR"] != "1" || env["MIN_INSYNC_REPLICAS"] != "1" {
		t.Errorf("kafka-init environment %v: want kafka:9092, replication 1 and min.insync.replicas 1 on one broker", env)
	}
	if n, err := strconv.Atoi(env["PARTITIONS"]); err != nil || n != topology.DefaultPartitions {
		t.Errorf("kafka-init PARTITIONS %q, want the design's %d", env["PARTITIONS"], topology.DefaultPartitions)
	}
}

// TestComposePostgres: the shop database is loaded from schema.sql then
// seed.sql (docker-entrypoint-initdb.d runs files in name order), with
// logical decoding on, under the database name the connector reads.
func TestComposePostgres(t *testing.T) {
	pg := composeServices(t)["postgres"]
	vols := pg.volumes()
	schema, seed := vols["./postgres/schema.sql"], vols["./postgres/seed.sql"]
	const initdb = "/docker-entrypoint-initdb.d/"
	if !strings.HasPrefix(schema, initdb) || !strings.HasPrefix(seed, initdb) || path.Base(schema) >= path.Base(seed) {
		t.Errorf("postgres loads schema.sql as %q and seed.sql as %q: want both in %s, schema first", schema, seed, initdb)
	}
	if !slices.Contains(pg.command(), "wal_level=logical") {
		t.Errorf("postgres command %v: Debezium's pgoutput needs wal_level=logical", pg.command())
	}
	conn := connectorConfig(t, "deploy/connect/shop.json")
	env := pg.env(t)
	if env["POSTGRES_DB"] != conn["database.dbname"] || env["POSTGRES_USER"] != conn["database.user"] {
		t.Errorf("postgres creates %s as %s; the connector reads %s as %s", env["POSTGRES_DB"], env["POSTGRES_USER"], conn["database.dbname"], conn["database.user"])
	}
	if h := conn["database.hostname"]; h != pg.name {
		t.Errorf("connector database.hostname %q, want the service %s", h, pg.name)
	}
}

// TestComposeProfiles: by default (deploy/.env) the json profile registers
// the JSON connector; the avro profile starts the schema registry and
// registers the Avro variant, whose registry URL is that service's; each
// registration PUTs a file that exists to the connect service.
func TestComposeProfiles(t *testing.T) {
	svcs := composeServices(t)
	if p := dotEnv(t)["COMPOSE_PROFILES"]; p != "json" {
		t.Errorf("deploy/.env COMPOSE_PROFILES=%q, want json by default", p)
	}
	registered := map[string]string{} // profile → connector file
	for name, s := range svcs {
		cmd := s.command()
		i := slices.Index(cmd, "--data")
		if i < 0 {
			continue
		}
		file := strings.TrimPrefix(cmd[i+1], "@")
		dir := s.volumes()["./connect"]
		if dir == "" || !strings.HasPrefix(file, dir+"/") {
			t.Errorf("service %s sends %s, which is not in the mounted ./connect", name, file)
			continue
		}
		local := "deploy/connect/" + strings.TrimPrefix(file, dir+"/")
		if _, err := os.Stat(repoPath(local)); err != nil {
			t.Errorf("service %s: %v", name, err)
		}
		url := cmd[len(cmd)-1]
		if !strings.HasPrefix(url, "http://connect:8083/connectors/") || !strings.HasSuffix(url, "/config") || !slices.Contains(cmd, "PUT") {
			t.Errorf("service %s: %v: want an idempotent PUT to connect's /connectors/<name>/config", name, cmd)
		}
		for _, p := range s.profiles() {
			registered[p] = local
		}
	}
	if registered["json"] != "deploy/connect/shop.json" || registered["avro"] != "deploy/connect/shop-avro.json" {
		t.Errorf("registrations by profile %v", registered)
	}
	sr, ok := svcs["schema-registry"]
	if !ok || !slices.Contains(sr.profiles(), "avro") {
		t.Fatal("no schema-registry service in profile avro")
	}
	avro := connectorConfig(t, "deploy/connect/shop-avro.json")
	for _, k := range []string{"key.converter.schema.registry.url", "value.converter.schema.registry.url"} {
		if !strings.HasPrefix(avro[k], "http://schema-registry:") || !strings.Contains(sr.env(t)["SCHEMA_REGISTRY_LISTENERS"], ":"+strings.TrimPrefix(avro[k], "http://schema-registry:")) {
			t.Errorf("shop-avro.json %s=%s does not reach the schema-registry service (%s)", k, avro[k], sr.env(t)["SCHEMA_REGISTRY_LISTENERS"])
		}
	}
	if !strings.Contains(string(readRepoFile(t, "deploy/.env")), "CARTSTREAM_REGISTRY=http://schema-registry:8081") {
		t.Error("deploy/.env does not say how to point cartstream at the schema registry for the avro profile")
	}
}

// TestComposeObservability: Prometheus scrapes exactly the instances'
// advertised addresses at /metrics; Grafana is provisioned with the
// datasource uid the dashboard uses and loads the dashboards directory.
func TestComposeObservability(t *testing.T) {
	svcs := composeServices(t)
	var want []string
	for _, s := range cartstreamServices(t, svcs) {
		cfg, _, err := parseRun(t, s.command()[1:], s.env(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, cfg.AdvertisedHTTP)
	}
	prom := loadYAML(t, "deploy/prometheus/prometheus.yml")[0]
	var targets []string
	for _, sc := range prom["scrape_configs"].([]any) {
		if str(get(sc, "metrics_path")) != "/metrics" {
			t.Errorf("scrape config %v: metrics_path is not /metrics", get(sc, "job_name"))
		}
		for _, st := range get(sc, "static_configs").([]any) {
			targets = append(targets, strList(get(st, "targets"))...)
		}
	}
	slices.Sort(targets)
	slices.Sort(want)
	if !slices.Equal(targets, want) {
		t.Errorf("Prometheus scrapes %v, the instances advertise %v", targets, want)
	}
	if v := svcs["prometheus"].volumes()["./prometheus/prometheus.yml"]; v != "/etc/prometheus/prometheus.yml" {
		t.Errorf("prometheus mounts its config at %q", v)
	}

	g := svcs["grafana"].volumes()
	if g["./grafana/provisioning"] != "/etc/grafana/provisioning" {
		t.Errorf("grafana provisioning mounted at %q", g["./grafana/provisioning"])
	}
	dashDir := g["./grafana/dashboards"]
	prov := loadYAML(t, "deploy/grafana/provisioning/dashboards/cartstream.yml")[0]
	if p := str(get(prov, "providers", "0", "options", "path")); p != dashDir {
		t.Errorf("dashboard provider reads %q, the dashboards are mounted at %q", p, dashDir)
	}
	ds := loadYAML(t, "deploy/grafana/provisioning/datasources/prometheus.yml")[0]
	uid := str(get(ds, "datasources", "0", "uid"))
	if u := str(get(ds, "datasources", "0", "url")); u != "http://prometheus:9090" {
		t.Errorf("datasource url %q", u)
	}
	dash := dashboard(t)
	for _, p := range dash.panels {
		if p.datasourceUID != uid {
			t.Errorf("panel %q uses datasource %q, provisioned is %q", p.title, p.datasourceUID, uid)
		}
	}
}
