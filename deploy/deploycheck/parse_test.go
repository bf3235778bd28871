package deploycheck

import (
	"encoding/json"
	"path"
	"strings"
	"testing"
)

// TestEveryDeployFileParses decodes every YAML file (all documents) and
// every JSON file under deploy/, and makes sure each kind of file the
// deployment needs is there.
func TestEveryDeployFileParses(t *testing.T) {
	counts := map[string]int{}
	for _, f := range deployFiles(t) {
		switch ext := path.Ext(f); ext {
		case ".yml", ".yaml":
			docs := loadYAML(t, f)
			if len(docs) == 0 {
				t.Errorf("%s: no YAML document", f)
			}
			counts["yaml"]++
		case ".json":
			var v any
			if err := json.Unmarshal(readRepoFile(t, f), &v); err != nil {
				t.Errorf("%s: %v", f, err)
			}
			counts["json"]++
		}
	}
	// A broken walk or a moved directory should not pass as "nothing to check".
	if counts["yaml"] < 9 || counts["json"] < 3 {
		t.Errorf("found %d YAML and %d JSON files under deploy/, expected the compose, k8s, prometheus, grafana and connect files", counts["yaml"], counts["json"])
	}
}

// TestEnvironmentVariablesAreFlags finds every CARTSTREAM_* name in the
// deployment files and the Dockerfile and checks that it is the variable of
// a flag of some cartstream command, per docs/configuration.md (generated
// from the CLI). Variables of `cartstream run` itself are checked against
// its real flag set by the compose and Kubernetes tests.
func TestEnvironmentVariablesAreFlags(t *testing.T) {
	known := map[string]bool{}
	for _, flags := range documentedFlags(t) {
		for _, env := range flags {
			known[env] = true
		}
	}
	files := append(deployFiles(t), "Dockerfile")
	seen := 0
	for _, f := range files {
		for _, name := range envVar.FindAllString(string(readRepoFile(t, f)), -1) {
			seen++
			if !known[name] {
				t.Errorf("%s: %s is no flag's variable (docs/configuration.md)", f, name)
			}
		}
	}
	if seen == 0 {
		t.Error("no CARTSTREAM_* variable found: the scan is broken")
	}
}

// TestNoSecretsCommitted: the deployment references secrets, never holds
// them. Kubernetes gets no Secret object, and no file sets a password or
// token flag directly (only their *-file variants).
func TestNoSecretsCommitted(t *testing.T) {
	for _, f := range deployFiles(t) {
		if ext := path.Ext(f); ext == ".yaml" || ext == ".yml" {
			for _, d := range loadYAML(t, f) {
				if str(d["kind"]) == "Secret" {
					t.Errorf("%s: a Secret object is committed", f)
				}
			}
		}
		text := string(readRepoFile(t, f))
		for _, bad := range []string{"kafka-sasl-password:", "--kafka-sasl-password=", "http-token:", "--http-token=",
			"CARTSTREAM_KAFKA_SASL_PASSWORD:", "CARTSTREAM_HTTP_TOKEN:"} {
			if strings.Contains(text, bad) {
				t.Errorf("%s: sets %s directly; use the *-file setting with a mounted secret", f, strings.TrimRight(bad, ":="))
			}
		}
	}
}
