package deploycheck

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"cartstream/internal/shopsim"
	"cartstream/topology"
)

// connectorFiles are the Debezium connector configurations: the JSON
// converter variant (profile json) and the Avro one (profile avro).
var connectorFiles = []string{"deploy/connect/shop.json", "deploy/connect/shop-avro.json"}

func connectorConfig(t *testing.T, file string) map[string]string {
	t.Helper()
	var c map[string]string
	if err := json.Unmarshal(readRepoFile(t, file), &c); err != nil {
		t.Fatalf("%s: %v (want a flat object of strings, as PUT /connectors/<name>/config takes)", file, err)
	}
	return c
}

// connectorTopics derives the topics a Debezium PostgreSQL connector with
// these settings writes: <topic.prefix>.<schema>.<table> per captured table,
// except the tables whose topic the Outbox Event Router (applied under its
// TopicNameMatches predicate) rewrites to route.topic.replacement with
// ${routedByValue} = the aggregatetype the order service writes.
func connectorTopics(t *testing.T, c map[string]string) (direct, routed, rewritten []string) {
	t.Helper()
	prefix := c["topic.prefix"]
	var router string
	for _, name := range strings.Split(c["transforms"], ",") {
		if c["transforms."+name+".type"] == "io.debezium.transforms.outbox.EventRouter" {
			router = name
		}
	}
	if router == "" {
		t.Fatal("no Outbox Event Router among the transforms")
	}
	pred := c["transforms."+router+".predicate"]
	if c["predicates."+pred+".type"] != "org.apache.kafka.connect.transforms.predicates.TopicNameMatches" || c["transforms."+router+".negate"] == "true" {
		t.Fatalf("the router's predicate %q is not a TopicNameMatches", pred)
	}
	pattern, err := regexp.Compile("^(?:" + c["predicates."+pred+".pattern"] + ")$")
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range strings.Split(c["table.include.list"], ",") {
		topic := prefix + "." + strings.TrimSpace(table)
		if !pattern.MatchString(topic) {
			direct = append(direct, topic)
			continue
		}
		rewritten = append(rewritten, topic)
		if f := c["transforms."+router+".route.by.field"]; f != "aggregatetype" {
			t.Errorf("router route.by.field %q, want aggregatetype", f)
		}
		routed = append(routed, strings.ReplaceAll(c["transforms."+router+".route.topic.replacement"], "${routedByValue}", shopsim.OutboxAggregateType))
	}
	return direct, routed, rewritten
}

// TestConnectorTopics: the connector's topic prefix and table list give
// exactly the source topics of the cdc-products, -promotions and -inventory
// groups, and the router sends the outbox to cdc-outbox's source, keyed by
// aggregateid (the order id). The simulator makes the same assumptions.
func TestConnectorTopics(t *testing.T) {
	topo := topology.New(topology.Config{})
	var wantDirect []string
	for _, g := range []string{topology.GroupCDCProducts, topology.GroupCDCPromotions, topology.GroupCDCInventory} {
		grp, _ := topo.Group(g)
		wantDirect = append(wantDirect, grp.Inputs...)
	}
	outbox, _ := topo.Group(topology.GroupCDCOutbox)
	for _, f := range connectorFiles {
		c := connectorConfig(t, f)
		direct, routed, _ := connectorTopics(t, c)
		slices.Sort(direct)
		slices.Sort(wantDirect)
		if !slices.Equal(direct, wantDirect) {
			t.Errorf("%s writes %v, the cdc groups read %v", f, direct, wantDirect)
		}
		if !slices.Equal(routed, outbox.Inputs) || routed[0] != shopsim.DefaultOutboxTopic {
			t.Errorf("%s routes the outbox to %v, cdc-outbox reads %v", f, routed, outbox.Inputs)
		}
		if k := c["transforms.outbox.table.field.event.key"]; k != "aggregateid" {
			t.Errorf("%s: outbox key column %q, want aggregateid (cdc-outbox checks it equals order_id)", f, k)
		}
		if c["topic.prefix"] != shopsim.DefaultTopicPrefix || c["database.dbname"] != shopsim.DefaultDatabase {
			t.Errorf("%s: topic.prefix %q, database %q; the simulator reproduces %q, %q", f, c["topic.prefix"], c["database.dbname"], shopsim.DefaultTopicPrefix, shopsim.DefaultDatabase)
		}
	}
	seed := string(readRepoFile(t, "deploy/postgres/seed.sql"))
	if !strings.Contains(seed, "'"+shopsim.OutboxAggregateType+"'") || !strings.Contains(seed, "'"+shopsim.OutboxEventType+"'") {
		t.Errorf("seed.sql's outbox rows do not use aggregatetype %q and type %q", shopsim.OutboxAggregateType, shopsim.OutboxEventType)
	}
}

// TestConnectorSettings: the settings docs/debezium.md says the decoder
// expects, the publication schema.sql creates, and the two variants equal
// but for their converters.
func TestConnectorSettings(t *testing.T) {
	want := map[string]string{
		"connector.class":              "io.debezium.connector.postgresql.PostgresConnector",
		"plugin.name":                  "pgoutput",
		"publication.autocreate.mode":  "disabled",
		"decimal.handling.mode":        "precise",
		"time.precision.mode":          "adaptive",
		"tombstones.on.delete":         "true",
		"provide.transaction.metadata": "false",
		"table.include.list":           "public.products,public.promotions,public.inventory,public.outbox",
	}
	schema := string(readRepoFile(t, "deploy/postgres/schema.sql"))
	pub := regexp.MustCompile(`CREATE PUBLICATION (\w+) FOR TABLE ([^;]+);`).FindStringSubmatch(schema)
	if pub == nil {
		t.Fatal("schema.sql creates no publication")
	}
	want["publication.name"] = pub[1]
	for _, table := range strings.Split(want["table.include.list"], ",") {
		if !strings.Contains(pub[2], strings.TrimPrefix(table, "public.")) {
			t.Errorf("publication %s does not include %s", pub[1], table)
		}
	}
	converters := map[string]map[string]string{
		"deploy/connect/shop.json": {
			"key.converter": "org.apache.kafka.connect.json.JsonConverter", "key.converter.schemas.enable": "true",
			"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "true",
		},
		"deploy/connect/shop-avro.json": {
			"key.converter": "io.confluent.connect.avro.AvroConverter", "value.converter": "io.confluent.connect.avro.AvroConverter",
		},
	}
	common := map[string]map[string]string{}
	for _, f := range connectorFiles {
		c := connectorConfig(t, f)
		for k, v := range want {
			if c[k] != v {
				t.Errorf("%s: %s=%q, want %q", f, k, c[k], v)
			}
		}
		for k, v := range converters[f] {
			if c[k] != v {
				t.Errorf("%s: %s=%q, want %q", f, k, c[k], v)
			}
		}
		rest := maps.Clone(c)
		maps.DeleteFunc(rest, func(k, _ string) bool {
			return strings.Contains(k, "converter") || k == "schema.name.adjustment.mode"
		})
		common[f] = rest
		if strings.Contains(c["database.password"], "${") && !strings.HasPrefix(c["database.password"], "${env:") {
			t.Errorf("%s: database.password %q: want ${env:VAR}", f, c["database.password"])
		}
		if p := c["database.password"]; !strings.HasPrefix(p, "${env:") {
			t.Errorf("%s: database.password is a literal; read it with ${env:VAR}", f)
		} else {
			v := strings.TrimSuffix(strings.TrimPrefix(p, "${env:"), "}")
			env := composeServices(t)["connect"].env(t)
			if env[v] == "" || env["CONNECT_CONFIG_PROVIDERS"] != "env" ||
				env["CONNECT_CONFIG_PROVIDERS_ENV_CLASS"] != "org.apache.kafka.common.config.provider.EnvVarConfigProvider" {
				t.Errorf("%s reads ${env:%s}, which the connect service does not provide", f, v)
			}
		}
	}
	if !maps.Equal(common[connectorFiles[0]], common[connectorFiles[1]]) {
		t.Errorf("the JSON and Avro connectors differ in more than their converters")
	}
}

// TestConnectImageVersion: the Debezium image is the version whose records
// internal/shopsim reproduces (and the e2e schema test assumes).
func TestConnectImageVersion(t *testing.T) {
	df := string(readRepoFile(t, "deploy/connect/Dockerfile"))
	if !strings.Contains(df, "ARG DEBEZIUM_VERSION="+shopsim.DebeziumVersion+"\n") || !strings.Contains(df, "FROM quay.io/debezium/connect:${DEBEZIUM_VERSION}") {
		t.Errorf("deploy/connect/Dockerfile does not build on quay.io/debezium/connect:%s", shopsim.DebeziumVersion)
	}
	if img := composeServices(t)["connect"].image(); !strings.HasSuffix(img, ":"+shopsim.DebeziumVersion) {
		t.Errorf("connect image tag %q, want %s", img, shopsim.DebeziumVersion)
	}
}

// topicLike finds names that look like cartstream's topics: the internal
// ones, the changelog and loop topics, the CDC and outbox sources and
// cart-events. File names such as cartstream.yaml are not topics.
var topicLike = regexp.MustCompile(`\b(cartstream\.[a-z][a-z0-9.-]*[a-z0-9]|cartstream-[a-z0-9-]+-(?:table|loop)|shop\.public\.[a-z_]+|outbox\.event\.[A-Za-z0-9_]+|cart-events)\b`)

// TestTopicNamesInDeployFiles: every topic-like name in deploy/ is a topic
// the topology declares (a renamed topic would leave a stale name behind),
// or the outbox table's own topic, which the router rewrites before any
// record reaches Kafka.
func TestTopicNamesInDeployFiles(t *testing.T) {
	topo := topology.New(topology.Config{})
	_, _, rewritten := connectorTopics(t, connectorConfig(t, connectorFiles[0]))
	seen := 0
	for _, f := range deployFiles(t) {
		for _, name := range topicLike.FindAllString(string(readRepoFile(t, f)), -1) {
			if ext := name[strings.LastIndex(name, ".")+1:]; slices.Contains([]string{"yaml", "yml", "json", "sh", "sql"}, ext) {
				continue
			}
			seen++
			if _, ok := topo.Topic(name); !ok && !slices.Contains(rewritten, name) {
				t.Errorf("%s names topic %s, which the topology does not declare", f, name)
			}
		}
	}
	if seen < 10 {
		t.Errorf("only %d topic names found in deploy/: the scan is broken", seen)
	}
}
