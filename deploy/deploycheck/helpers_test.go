package deploycheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"cartstream/internal/config"
)

// root is the repository root, relative to this package.
const root = "../.."

// repoPath joins a repository-relative path onto root.
func repoPath(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }

func readRepoFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(repoPath(p))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deployFiles lists the files under deploy/ (repository-relative, slash
// separated, sorted), leaving out this package's Go sources.
func deployFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(repoPath("deploy"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "deploycheck" {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// yamlDocs decodes every document of a (possibly multi-document) YAML file.
func yamlDocs(data []byte) ([]map[string]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
}

func loadYAML(t *testing.T, p string) []map[string]any {
	t.Helper()
	docs, err := yamlDocs(readRepoFile(t, p))
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return docs
}

// get walks a decoded YAML/JSON tree by map keys and list indexes ("0").
func get(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

func strList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, len(l))
	for i, e := range l {
		out[i] = str(e)
	}
	return out
}

// runFlags is the real flag set of `cartstream run`: config.RegisterRun plus
// --config, which the CLI adds to every command (bindConfig).
func runFlags(cfg *config.Config) *pflag.FlagSet {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.RegisterRun(fs)
	fs.String("config", "", "YAML file of flag names to values")
	return fs
}

// parseRun parses the arguments of `cartstream run` (without "run") as the
// binary would: flags, then CARTSTREAM_* variables from env, then the YAML
// config file at the --config path, whose content is configFiles[path].
func parseRun(t *testing.T, args []string, env map[string]string, configFiles map[string]string) (config.Config, *pflag.FlagSet, error) {
	t.Helper()
	var cfg config.Config
	fs := runFlags(&cfg)
	if err := fs.Parse(args); err != nil {
		return cfg, fs, err
	}
	if fs.NArg() > 0 {
		return cfg, fs, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	path, _ := fs.GetString("config")
	if path == "" {
		path = env[config.EnvName("config")]
	}
	local := ""
	if path != "" {
		content, ok := configFiles[path]
		if !ok {
			return cfg, fs, fmt.Errorf("--config %s: no such file in the deployment", path)
		}
		local = filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(local, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	err := config.Apply(fs, func(k string) string { return env[k] }, local)
	return cfg, fs, err
}

// documentedFlags reads docs/configuration.md (generated from the CLI and
// checked against it by cmd/cartstream's TestConfigurationDocIsCurrent):
// command path ("cartstream dlq redrive") → flag name → environment variable.
func documentedFlags(t *testing.T) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	row := regexp.MustCompile("^\\| `--([a-z0-9-]+)` \\| `([A-Z0-9_]+)` \\|")
	cmd := ""
	sc := bufio.NewScanner(bytes.NewReader(readRepoFile(t, "docs/configuration.md")))
	for sc.Scan() {
		line := sc.Text()
		if c, ok := strings.CutPrefix(line, "## "); ok {
			cmd = c
			out[cmd] = map[string]string{}
			continue
		}
		if m := row.FindStringSubmatch(line); m != nil && cmd != "" {
			out[cmd][m[1]] = m[2]
		}
	}
	if len(out["cartstream run"]) == 0 {
		t.Fatal("docs/configuration.md: no flags found for cartstream run")
	}
	return out
}

var envVar = regexp.MustCompile(`\bCARTSTREAM_[A-Z0-9_]+\b`)
