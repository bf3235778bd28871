package streams

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/twmb/franz-go/pkg/kgo"
)

// returningContext is a goka.Context whose Fail returns, as goka's does
// once the partition is stopping.
type returningContext struct {
	gokaContext
	failed error
}

// gokaContext names goka.Context for embedding: an embedded field named
// Context would hide the interface's Context method.
type gokaContext = goka.Context

func (c *returningContext) Fail(err error) { c.failed = err }

func TestFailAbortsTheCallbackWhenGokaReturns(t *testing.T) {
	c := &returningContext{}
	cause := errors.New("dead letter not written")
	defer func() {
		r := recover()
		err, ok := r.(error)
		if !ok || !errors.Is(err, cause) {
			t.Fatalf("recovered %v, want a panic wrapping the cause", r)
		}
		if c.failed != cause {
			t.Errorf("goka's Fail got %v, want the cause", c.failed)
		}
	}()
	Fail(c, cause)
	t.Fatal("Fail returned: the callback would go on and its record be marked as done")
}

// TestRecordFailedWhileStoppingIsReadAgain: a callback that fails while
// its partition is stopping (the processor is being shut down, as in a
// rebalance) must leave its record uncommitted, so the next processor of
// the group reads it again. With goka's Context.Fail alone the callback
// returned normally and the record was committed as processed.
func TestRecordFailedWhileStoppingIsReadAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end broker test; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b := startKfakeRegBroker(ctx, t)
	cl, adm := newKfakeRegClient(t, b.Addr())
	const group goka.Group = "fail-while-stopping"
	input := goka.Stream("fail-while-stopping-input")
	if err := createKfakeRegTopics(ctx, adm, 1, string(input)); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: string(input), Key: []byte("poison"), Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	f := NewFactory(Config{Brokers: []string{b.Addr()}, DataDir: t.TempDir()})
	run := func(failWhileStopping bool) (seen chan string, stop func() error) {
		seen = make(chan string, 10)
		gg := goka.DefineGroup(group, goka.Input(input, new(codec.String), func(gctx goka.Context, msg any) {
			seen <- gctx.Key()
			if !failWhileStopping {
				return
			}
			// Wait until the processor stops, then fail, as a dead-letter
			// write cancelled by a rebalance does.
			<-gctx.Context().Done()
			Fail(gctx, errors.New("dead letter write: context canceled"))
		}))
		p, err := f.NewProcessor(gg, ProcessorOptions{})
		if err != nil {
			t.Fatal(err)
		}
		runCtx, cancelRun := context.WithCancel(ctx)
		ran := make(chan error, 1)
		go func() { ran <- p.Run(runCtx) }()
		return seen, func() error { cancelRun(); return <-ran }
	}

	seen, stop := run(true)
	select {
	case k := <-seen:
		if k != "poison" {
			t.Fatalf("first record %q", k)
		}
	case <-ctx.Done():
		t.Fatal("the record never came")
	}
	_ = stop() // the partition stops while the callback waits, then it fails

	offsets, err := adm.FetchOffsets(ctx, string(group))
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offsets.Lookup(string(input), 0); ok && o.At > 0 {
		t.Fatalf("committed offset %d: the failed record was committed as processed", o.At)
	}

	seen, stop = run(false)
	defer func() { _ = stop() }()
	select {
	case k := <-seen:
		if k != "poison" {
			t.Fatalf("read %q first after the restart, want the failed record again", k)
		}
	case <-ctx.Done():
		t.Fatal("the failed record was never read again")
	}
}

// TestCallbacksFailThroughStreams: no callback outside this package calls
// goka's Context.Fail directly; it returns while a partition stops, and
// the record would then be committed (see Fail).
func TestCallbacksFailThroughStreams(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || filepath.Dir(path) == filepath.Join(root, "internal", "streams") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Fail" {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "streams" {
				return true
			}
			t.Errorf("%s: calls %s.Fail; use streams.Fail", fset.Position(call.Pos()), exprString(sel.X))
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked %d files; the walk missed the module", checked)
	}
}

func exprString(e ast.Expr) string {
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return "a context"
}
