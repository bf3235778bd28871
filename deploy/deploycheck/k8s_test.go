package deploycheck

import (
	"fmt"
	"net"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const k8sDir = "deploy/k8s"

// k8sObjects loads every object of the kustomization's resources, by kind
// and name ("StatefulSet/cartstream").
func k8sObjects(t *testing.T) map[string]map[string]any {
	t.Helper()
	kust := loadYAML(t, k8sDir+"/kustomization.yaml")[0]
	if str(kust["kind"]) != "Kustomization" {
		t.Fatalf("kustomization.yaml kind %v", kust["kind"])
	}
	out := map[string]map[string]any{}
	for _, r := range strList(kust["resources"]) {
		for _, d := range loadYAML(t, path.Join(k8sDir, r)) {
			key := str(d["kind"]) + "/" + str(get(d, "metadata", "name"))
			if _, dup := out[key]; dup {
				t.Errorf("%s defined twice", key)
			}
			if str(d["apiVersion"]) == "" {
				t.Errorf("%s (%s) has no apiVersion", key, r)
			}
			out[key] = d
		}
	}
	// Every manifest in the directory is a resource (none forgotten).
	for _, f := range deployFiles(t) {
		if dir, file := path.Split(f); dir == k8sDir+"/" && file != "kustomization.yaml" && !slices.Contains(strList(kust["resources"]), file) {
			t.Errorf("%s is not listed in kustomization.yaml's resources", f)
		}
	}
	return out
}

func labelsMatch(selector, labels any) bool {
	sel, _ := selector.(map[string]any)
	lab, _ := labels.(map[string]any)
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if str(lab[k]) != str(v) {
			return false
		}
	}
	return true
}

// TestKubernetesManifests: the objects a StatefulSet deployment needs exist
// and select the same pods; a headless Service is the StatefulSet's
// serviceName; the kustomization's image override names the container's
// image.
func TestKubernetesManifests(t *testing.T) {
	objs := k8sObjects(t)
	sts, ok := objs["StatefulSet/cartstream"]
	if !ok {
		t.Fatalf("no StatefulSet/cartstream among %v", keys(objs))
	}
	podLabels := get(sts, "spec", "template", "metadata", "labels")
	if !labelsMatch(get(sts, "spec", "selector", "matchLabels"), podLabels) {
		t.Error("the StatefulSet's selector does not match its pod labels")
	}
	headless := objs["Service/"+str(get(sts, "spec", "serviceName"))]
	if headless == nil || str(get(headless, "spec", "clusterIP")) != "None" {
		t.Errorf("the StatefulSet's serviceName %v is not a headless Service", get(sts, "spec", "serviceName"))
	}
	services := 0
	for k, o := range objs {
		switch str(o["kind"]) {
		case "Service":
			services++
			if !labelsMatch(get(o, "spec", "selector"), podLabels) {
				t.Errorf("%s does not select the cartstream pods", k)
			}
			if tp := str(get(o, "spec", "ports", "0", "targetPort")); tp != "http" {
				t.Errorf("%s targets port %q, want the container's named port http", k, tp)
			}
		case "PodDisruptionBudget":
			if !labelsMatch(get(o, "spec", "selector", "matchLabels"), podLabels) {
				t.Errorf("%s does not select the cartstream pods", k)
			}
		}
	}
	if services < 2 || objs["PodDisruptionBudget/cartstream"] == nil || objs["ConfigMap/cartstream-config"] == nil {
		t.Errorf("want a headless Service, a client Service, a PodDisruptionBudget and the ConfigMap; have %v", keys(objs))
	}
	if get(sts, "spec", "volumeClaimTemplates", "0") == nil {
		t.Error("the StatefulSet keeps no state on a PersistentVolumeClaim (volumeClaimTemplates)")
	}
	kust := loadYAML(t, k8sDir+"/kustomization.yaml")[0]
	if img := str(get(kust, "images", "0", "name")); img != str(get(sts, "spec", "template", "spec", "containers", "0", "image")) {
		t.Errorf("kustomization images[0].name %q is not the container's image", img)
	}
}

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var k8sVarRef = regexp.MustCompile(`\$\(([A-Z_][A-Z0-9_]*)\)`)

// TestKubernetesCartstreamContainer parses the container's arguments,
// environment and the ConfigMap's config file (mounted where --config
// points) with the real flag set of `cartstream run`, with the pod's
// $(VAR) references expanded, and checks: the instance id is the pod name;
// the advertised address is the pod's DNS name under the headless Service,
// on the port it listens on, which is the container's http port; probes on
// /readyz and /healthz; state on the claim template's volume; the grace
// period exceeds --shutdown-timeout; the secret files it reads are on the
// mounted Secret; no ConfigMap key is shadowed by an image ENV; resources
// are set.
func TestKubernetesCartstreamContainer(t *testing.T) {
	objs := k8sObjects(t)
	sts := objs["StatefulSet/cartstream"]
	pod := get(sts, "spec", "template", "spec")
	c := get(pod, "containers", "0")
	const podName, namespace = "cartstream-0", "shop"

	env := map[string]string{}
	for _, e := range get(c, "env").([]any) {
		name := str(get(e, "name"))
		switch f := str(get(e, "valueFrom", "fieldRef", "fieldPath")); f {
		case "metadata.name":
			env[name] = podName
		case "metadata.namespace":
			env[name] = namespace
		case "":
			env[name] = str(get(e, "value"))
		default:
			t.Errorf("env %s from %s", name, f)
		}
	}
	args := strList(get(c, "args"))
	if len(args) == 0 || args[0] != "run" {
		t.Fatalf("container args %v: want run first", args)
	}
	expanded := make([]string, len(args)-1)
	for i, a := range args[1:] {
		expanded[i] = k8sVarRef.ReplaceAllStringFunc(a, func(m string) string {
			v, ok := env[k8sVarRef.FindStringSubmatch(m)[1]]
			if !ok {
				t.Errorf("argument %q refers to %s, which the container's env does not define", a, m)
			}
			return v
		})
	}

	// Volumes: name → what it is; mounts: path → volume name.
	volumes := map[string]map[string]any{}
	for _, v := range get(pod, "volumes").([]any) {
		volumes[str(get(v, "name"))] = v.(map[string]any)
	}
	mounts := map[string]string{}
	for _, m := range get(c, "volumeMounts").([]any) {
		mounts[str(get(m, "mountPath"))] = str(get(m, "name"))
	}
	configFiles := map[string]string{}
	for dir, vol := range mounts {
		cmName := str(get(volumes[vol], "configMap", "name"))
		if cmName == "" {
			continue
		}
		cm := objs["ConfigMap/"+cmName]
		if cm == nil {
			t.Errorf("volume %s mounts ConfigMap %s, which is not in the kustomization", vol, cmName)
			continue
		}
		for k, v := range cm["data"].(map[string]any) {
			configFiles[dir+"/"+k] = str(v)
		}
	}

	cfg, fs, err := parseRun(t, expanded, env, configFiles)
	if err != nil {
		t.Fatalf("cartstream run %v: %v", expanded, err)
	}
	if err := cfg.KafkaSecurity.Validate(); err != nil {
		t.Error(err)
	}
	if len(cfg.Brokers) == 0 {
		t.Error("no --brokers: the instance would run an embedded broker")
	}
	if cfg.InstanceID != podName {
		t.Errorf("--instance-id %q, want the pod name", cfg.InstanceID)
	}
	svc := str(get(sts, "spec", "serviceName"))
	host, port, err := net.SplitHostPort(cfg.AdvertisedHTTP)
	if err != nil || (host != fmt.Sprintf("%s.%s.%s.svc.cluster.local", podName, svc, namespace) && host != podName+"."+svc) {
		t.Errorf("--advertised-http %q is not the pod's DNS name under %s", cfg.AdvertisedHTTP, svc)
	}
	_, lport, _ := net.SplitHostPort(cfg.HTTPListen)
	if lport != port || !strings.HasPrefix(cfg.HTTPListen, "0.0.0.0:") {
		t.Errorf("listens on %s, advertises %s", cfg.HTTPListen, cfg.AdvertisedHTTP)
	}
	if cp := str(get(c, "ports", "0", "containerPort")); str(get(c, "ports", "0", "name")) != "http" || cp != port {
		t.Errorf("container port %v, want http on %s", get(c, "ports"), port)
	}
	if str(get(c, "readinessProbe", "httpGet", "path")) != "/readyz" || str(get(c, "livenessProbe", "httpGet", "path")) != "/healthz" {
		t.Error("want readiness on /readyz and liveness on /healthz")
	}
	for _, probe := range []string{"readinessProbe", "livenessProbe"} {
		if p := str(get(c, probe, "httpGet", "port")); p != "http" && p != port {
			t.Errorf("%s on port %q", probe, p)
		}
	}
	claim := str(get(sts, "spec", "volumeClaimTemplates", "0", "metadata", "name"))
	if mounts[cfg.DataDir] != claim {
		t.Errorf("--data-dir %s is not the claim template %q's mount (%v)", cfg.DataDir, claim, mounts)
	}
	grace := time.Duration(toInt(get(pod, "terminationGracePeriodSeconds"))) * time.Second
	if grace <= cfg.ShutdownTimeout {
		t.Errorf("terminationGracePeriodSeconds %s must exceed --shutdown-timeout %s, or the kubelet kills a clean stop", grace, cfg.ShutdownTimeout)
	}
	for _, file := range []string{cfg.KafkaSecurity.SASLPasswordFile, cfg.HTTPTokenFile} {
		if file == "" {
			t.Error("the Kafka password or the HTTP token is not read from a file")
			continue
		}
		dir, key := path.Split(file)
		vol := volumes[mounts[strings.TrimSuffix(dir, "/")]]
		if get(vol, "secret", "secretName") == nil {
			t.Errorf("%s is not on a mounted Secret", file)
		}
		if items := get(vol, "secret", "items"); items != nil {
			t.Errorf("secret volume %v lists items; %s must be a key of the Secret", vol["name"], key)
		}
	}
	// The image's ENV beats the config file (flags > env > file): a key
	// set in both would silently lose, unless a flag sets it.
	_, stages := dockerStages(t)
	for _, in := range stages[len(stages)-1] {
		if in.cmd != "ENV" {
			continue
		}
		for _, kv := range strings.Fields(in.args) {
			k, _, _ := strings.Cut(kv, "=")
			name := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(k, "CARTSTREAM_"), "_", "-"))
			for file, content := range configFiles {
				if regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(name)+`:`).MatchString(content) && !fs.Changed(name) {
					t.Errorf("%s sets %s, which the image's ENV %s overrides", file, name, k)
				}
			}
		}
	}
	if get(c, "resources", "requests", "cpu") == nil || get(c, "resources", "requests", "memory") == nil || get(c, "resources", "limits", "memory") == nil {
		t.Error("the container sets no cpu/memory requests or memory limit")
	}
	if v := toInt(get(pod, "securityContext", "runAsUser")); v == 0 || get(pod, "securityContext", "runAsNonRoot") != true {
		t.Error("the pod does not run as a non-root user")
	}
	if cfg.Partitions < toInt(get(sts, "spec", "replicas")) {
		t.Errorf("%v replicas for %d partitions: the extra instances would idle", get(sts, "spec", "replicas"), cfg.Partitions)
	}
}

func toInt(v any) int {
	switch x := v.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		return int(x)
	}
	return 0
}
