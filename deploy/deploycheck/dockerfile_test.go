package deploycheck

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// dockerInstruction is one Dockerfile instruction, continuation lines
// joined.
type dockerInstruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// dockerStages splits the root Dockerfile into stages (instructions before
// the first FROM are stage 0's preamble).
func dockerStages(t *testing.T) (preamble []dockerInstruction, stages [][]dockerInstruction) {
	t.Helper()
	text := strings.ReplaceAll(string(readRepoFile(t, "Dockerfile")), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := dockerInstruction{cmd: strings.ToUpper(cmd), args: strings.Join(strings.Fields(args), " ")}
		switch {
		case in.cmd == "FROM":
			stages = append(stages, []dockerInstruction{in})
		case len(stages) == 0:
			preamble = append(preamble, in)
		default:
			stages[len(stages)-1] = append(stages[len(stages)-1], in)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile: %d stages, want a builder and a final image", len(stages))
	}
	return preamble, stages
}

// goModVersion is go.mod's go directive.
func goModVersion(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(string(readRepoFile(t, "go.mod")))
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return m[1]
}

// TestDockerfile: the builder is golang at go.mod's version and builds a
// static binary (CGO_ENABLED=0); the final image is distroless or scratch,
// runs as a non-root user, has the /data volume and exposes 8080; its
// CARTSTREAM_* defaults are flags of `cartstream run` with values that
// parse; and the build copies every directory the binary's packages and
// embedded files live in.
func TestDockerfile(t *testing.T) {
	preamble, stages := dockerStages(t)
	goVersion := ""
	for _, in := range preamble {
		if v, ok := strings.CutPrefix(in.args, "GO_VERSION="); ok && in.cmd == "ARG" {
			goVersion = v
		}
	}
	if want := goModVersion(t); goVersion != want {
		t.Errorf("Dockerfile ARG GO_VERSION=%q, go.mod says go %s", goVersion, want)
	}
	build, final := stages[0], stages[len(stages)-1]
	if !strings.HasPrefix(build[0].args, "golang:${GO_VERSION}") {
		t.Errorf("builder stage %q: want FROM golang:${GO_VERSION}", build[0].args)
	}
	static := false
	var copied []string
	for _, in := range build {
		if strings.Contains(in.args, "CGO_ENABLED=0") && (in.cmd == "ENV" || in.cmd == "RUN") {
			static = true
		}
		if in.cmd == "COPY" && !strings.HasPrefix(in.args, "--from") {
			f := strings.Fields(in.args)
			copied = append(copied, f[:len(f)-1]...)
		}
	}
	if !static {
		t.Error("the builder does not set CGO_ENABLED=0: the binary would need libc, which distroless/static lacks")
	}

	base := final[0].args
	if !strings.HasPrefix(base, "gcr.io/distroless/") && base != "scratch" {
		t.Errorf("final image FROM %s: want distroless or scratch", base)
	}
	var user, volume, expose, entrypoint string
	env := map[string]string{}
	for _, in := range final {
		switch in.cmd {
		case "USER":
			user = in.args
		case "VOLUME":
			volume = in.args
		case "EXPOSE":
			expose = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "ENV":
			for _, kv := range strings.Fields(in.args) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		}
	}
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "0" || u == "root" {
		t.Errorf("final image USER %q: want a non-root user", user)
	}
	if volume != "/data" || expose != "8080" {
		t.Errorf("final image VOLUME %q EXPOSE %q, want /data and 8080", volume, expose)
	}
	if !strings.Contains(entrypoint, `"/cartstream"`) {
		t.Errorf("ENTRYPOINT %s", entrypoint)
	}
	cfg, fs, err := parseRun(t, nil, env, nil)
	if err != nil {
		t.Errorf("the image's CARTSTREAM_* defaults: %v", err)
	}
	for k := range env {
		if strings.HasPrefix(k, "CARTSTREAM_") {
			name := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(k, "CARTSTREAM_"), "_", "-"))
			if fs.Lookup(name) == nil {
				t.Errorf("ENV %s is no flag of cartstream run", k)
			}
		}
	}
	if cfg.DataDir != volume {
		t.Errorf("the image's data dir %q is not its volume %q", cfg.DataDir, volume)
	}
	if !strings.HasSuffix(cfg.HTTPListen, ":"+expose) || strings.HasPrefix(cfg.HTTPListen, "127.") {
		t.Errorf("the image's --http-listen %q: want every interface on the exposed port %s", cfg.HTTPListen, expose)
	}

	// Every package directory and embedded file of the binary is copied.
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the binary's packages")
	}
	list := exec.Command(goBin, "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.Dir}}{{range .EmbedFiles}} {{$.Dir}}/{{.}}{{end}}{{end}}{{end}}", "./cmd/cartstream")
	list.Dir = root
	out, err := list.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(abs, p)
		if err != nil {
			t.Fatal(err)
		}
		rel = filepath.ToSlash(rel)
		top, _, _ := strings.Cut(rel, "/")
		if !slices.Contains(copied, top+"/") && !slices.Contains(copied, top) {
			t.Errorf("the build needs %s, which no COPY brings in (copied: %v)", rel, copied)
		}
	}
}
