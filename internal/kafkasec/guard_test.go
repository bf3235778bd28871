package kafkasec_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// clientConstructors are the functions that open Kafka connections, by
// import path, and the only files allowed to call them: franz-go clients
// come from Cluster.NewClient, goka's sarama clients from streams.Factory,
// both of which apply the Kafka security settings. Tests are exempt.
var clientConstructors = map[string]struct {
	funcs   []string
	allowed string // directory (module-relative) of the only caller
	use     string // what to call instead
}{
	"github.com/twmb/franz-go/pkg/kgo": {funcs: []string{"NewClient"}, allowed: "internal/kafkasec",
		use: "kafkasec.Cluster.NewClient (a command gets its Cluster from config.Config.KafkaCluster)"},
	"github.com/IBM/sarama": {funcs: []string{"NewClient", "NewConsumer", "NewConsumerGroup", "NewConsumerGroupFromClient",
		"NewClusterAdmin", "NewSyncProducer", "NewAsyncProducer", "NewConsumerFromClient"}, allowed: "internal/streams",
		use: "streams.Factory"},
	"github.com/lovoo/goka": {funcs: []string{"NewProcessor", "NewView", "NewEmitter", "NewTopicManager", "NewProducer",
		"NewSaramaConsumer"}, allowed: "internal/streams", use: "streams.Factory"},
}

// TestNoClientBypassesCluster parses every non-test Go file of the module
// and fails on a Kafka client built anywhere but the one constructor of its
// kind, so no command or component can forget TLS and SASL.
func TestNoClientBypassesCluster(t *testing.T) {
	root := moduleRoot(t)
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || name == "bin" || name == "data") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		checked++
		rel, _ := filepath.Rel(root, path)
		dir := filepath.ToSlash(filepath.Dir(rel))
		names := map[string]string{} // local name -> import path
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if _, ok := clientConstructors[p]; !ok {
				continue
			}
			local := p[strings.LastIndex(p, "/")+1:]
			if imp.Name != nil {
				local = imp.Name.Name
			}
			names[local] = p
		}
		if len(names) == 0 {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			id, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			p, ok := names[id.Name]
			if !ok {
				return true
			}
			c := clientConstructors[p]
			for _, fn := range c.funcs {
				if sel.Sel.Name == fn && dir != c.allowed {
					t.Errorf("%s: %s.%s builds a Kafka client without the security settings; use %s",
						fset.Position(sel.Pos()), id.Name, fn, c.use)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked only %d files under %s; is the module root right?", checked, root)
	}
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
