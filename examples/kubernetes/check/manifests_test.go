package check

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// The kustomization lists every manifest in the directory, and nothing else.
func TestKustomizationListsEveryManifest(t *testing.T) {
	m := load(t)
	files, err := filepath.Glob(filepath.Join(exampleDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range files {
		if base := filepath.Base(f); base != "kustomization.yaml" {
			want = append(want, base)
		}
	}
	got := append([]string(nil), m.kustomization.Resources...)
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("kustomization resources %v, files %v", got, want)
	}
	if m.kustomization.APIVersion != "kustomize.config.k8s.io/v1beta1" || m.kustomization.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml is %s %s", m.kustomization.APIVersion, m.kustomization.Kind)
	}
	image := m.container(t).Image
	found := false
	for _, im := range m.kustomization.Images {
		found = found || im.Name == image
	}
	if !found {
		t.Errorf("kustomization images do not set the container's image %q", image)
	}
}

func TestDeploymentSecurity(t *testing.T) {
	m := load(t)
	pod := m.deployment.Spec.Template.Spec
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Error("pod: runAsNonRoot must be true")
	}
	if psc == nil || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Error("pod: runAsUser must be set and not 0")
	} else if user := dockerfileUser(t); strconv.FormatInt(*psc.RunAsUser, 10) != user {
		t.Errorf("pod: runAsUser %d, the Dockerfile's USER %s", *psc.RunAsUser, user)
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod: seccompProfile must be RuntimeDefault")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("pod: automountServiceAccountToken must be false (Verdict calls no Kubernetes API)")
	}
	for _, c := range append(append([]corev1.Container(nil), pod.InitContainers...), pod.Containers...) {
		sc := c.SecurityContext
		switch {
		case sc == nil:
			t.Errorf("container %s: no securityContext", c.Name)
			continue
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			t.Errorf("container %s: readOnlyRootFilesystem must be true", c.Name)
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Errorf("container %s: allowPrivilegeEscalation must be false", c.Name)
		case sc.Privileged != nil && *sc.Privileged:
			t.Errorf("container %s: privileged", c.Name)
		case sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) > 0:
			t.Errorf("container %s: capabilities must drop ALL and add none", c.Name)
		}
	}
}

// containerPort resolves a probe's or Service's port (a number or a name).
func containerPort(t *testing.T, c *corev1.Container, p intstr.IntOrString) int32 {
	t.Helper()
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	t.Fatalf("container %s has no port named %q", c.Name, p.StrVal)
	return 0
}

// listenPort is the port of server.listen in a Verdict config.
func listenPort(t *testing.T, cfg map[string]any) int32 {
	t.Helper()
	v, ok := lookup(cfg, "server.listen")
	if !ok {
		t.Fatal("server.listen is not set (the default 127.0.0.1:7008 is unreachable from outside the pod)")
	}
	host, port, err := net.SplitHostPort(v.(string))
	if err != nil {
		t.Fatalf("server.listen: %v", err)
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsLoopback() {
		t.Errorf("server.listen %s: must listen on all interfaces, not loopback", v)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("server.listen: %v", err)
	}
	return int32(n)
}

func TestProbesAndPorts(t *testing.T) {
	m := load(t)
	c := m.container(t)
	_, cfg := m.verdictConfig(t)
	port := listenPort(t, cfg)
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != port {
		t.Errorf("container ports %v, server.listen port %d", c.Ports, port)
	}
	if p := dockerfileExpose(t); p != strconv.Itoa(int(port)) {
		t.Errorf("Dockerfile EXPOSE %s, server.listen port %d", p, port)
	}
	for _, tc := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"startupProbe", c.StartupProbe, "/readyz"},
		{"readinessProbe", c.ReadinessProbe, "/readyz"},
		{"livenessProbe", c.LivenessProbe, "/healthz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.probe == nil || tc.probe.HTTPGet == nil {
				t.Fatal("want an httpGet probe")
			}
			if tc.probe.HTTPGet.Path != tc.path {
				t.Errorf("path %s, want %s", tc.probe.HTTPGet.Path, tc.path)
			}
			if got := containerPort(t, c, tc.probe.HTTPGet.Port); got != port {
				t.Errorf("port %d, server listens on %d", got, port)
			}
		})
	}
	// The startup probe must outlast loading: policies.limits.loadTimeout
	// (10 s) per module at worst, several Go modules at about 1 s each.
	if s := c.StartupProbe; s != nil && s.PeriodSeconds*s.FailureThreshold < 60 {
		t.Errorf("startupProbe allows %d s; want at least 60", s.PeriodSeconds*s.FailureThreshold)
	}

	svc := m.service.Spec
	if len(svc.Ports) != 1 || svc.Ports[0].Port != 7008 {
		t.Errorf("Service ports %v: want 7008 (Verdict's default port)", svc.Ports)
	} else if got := containerPort(t, c, svc.Ports[0].TargetPort); got != port {
		t.Errorf("Service targetPort resolves to %d, server listens on %d", got, port)
	}
}

// Requests and limits are set, GOMAXPROCS follows the CPU limit, and the
// memory limit covers the budget worked out in deployment.yaml.
func TestResources(t *testing.T) {
	m := load(t)
	c := m.container(t)
	_, cfg := m.verdictConfig(t)
	lim, req := c.Resources.Limits, c.Resources.Requests
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		l, okL := lim[r]
		q, okR := req[r]
		if !okL || !okR {
			t.Errorf("%s: want both a request and a limit", r)
			continue
		}
		if q.Cmp(l) > 0 {
			t.Errorf("%s: request %s above limit %s", r, q.String(), l.String())
		}
	}
	cpu, mem := lim[corev1.ResourceCPU], lim[corev1.ResourceMemory]
	if cpu.MilliValue()%1000 != 0 {
		t.Errorf("cpu limit %s: want whole CPUs (it sets GOMAXPROCS)", cpu.String())
	}
	if q := req[corev1.ResourceMemory]; q.Cmp(mem) != 0 {
		t.Errorf("memory request %s differs from limit %s: a pod could be scheduled where its budget does not fit", q.String(), mem.String())
	}

	// GOMAXPROCS follows the CPU limit, and with it the instances per module.
	e := env(c, "GOMAXPROCS")
	if e == nil || e.ValueFrom == nil || e.ValueFrom.ResourceFieldRef == nil ||
		e.ValueFrom.ResourceFieldRef.Resource != "limits.cpu" {
		t.Fatal("GOMAXPROCS must come from a resourceFieldRef to limits.cpu")
	}
	if d := e.ValueFrom.ResourceFieldRef.Divisor; !d.IsZero() && d.Cmp(resource.MustParse("1")) != 0 {
		t.Errorf("GOMAXPROCS divisor %s, want 1", d.String())
	}
	instances := cpu.Value()
	if v, ok := lookup(cfg, "policies.limits.instances"); ok {
		instances = int64(v.(float64))
	}
	memoryMiB := int64(32)
	if v, ok := lookup(cfg, "policies.limits.memoryMiB"); ok {
		memoryMiB = int64(v.(float64))
	}
	// The budget the Deployment's comment works out: about 85 MiB resident
	// with two Go modules loaded, plus, for each of them, every instance
	// growing at once at about 3x its memory cap.
	const residentMiB, goModules = 85, 2
	budget := (residentMiB + goModules*instances*3*memoryMiB) << 20
	if mem.Value() < budget {
		t.Errorf("memory limit %s is below the budget of %d MiB (%d MiB + %d modules x %d instances x 3 x %d MiB)",
			mem.String(), budget>>20, residentMiB, goModules, instances, memoryMiB)
	}
	if g := env(c, "GOMEMLIMIT"); g != nil {
		soft, err := resource.ParseQuantity(strings.Replace(g.Value, "iB", "i", 1))
		if err != nil {
			t.Errorf("GOMEMLIMIT %q: %v", g.Value, err)
		} else if soft.Cmp(mem) >= 0 || soft.Value() < mem.Value()*8/10 {
			t.Errorf("GOMEMLIMIT %s: want 80-100%% of the memory limit %s", g.Value, mem.String())
		}
	}
}

func TestCacheVolume(t *testing.T) {
	m := load(t)
	c := m.container(t)
	e := env(c, "VERDICT_POLICIES__CACHEDIR")
	if e == nil || e.Value == "" {
		t.Fatal("VERDICT_POLICIES__CACHEDIR is not set: with a read-only root filesystem the compilation cache needs a volume")
	}
	vm, v := m.mountFor(t, c, e.Value)
	if vm.ReadOnly || v.EmptyDir == nil {
		t.Fatalf("%s: want a writable emptyDir", e.Value)
	}
	if v.EmptyDir.SizeLimit == nil {
		t.Fatal("cache emptyDir: set a sizeLimit")
	}
	if l := c.Resources.Limits[corev1.ResourceEphemeralStorage]; v.EmptyDir.SizeLimit.Cmp(l) > 0 {
		t.Errorf("cache sizeLimit %s above the ephemeral-storage limit %s", v.EmptyDir.SizeLimit.String(), l.String())
	}
}

func TestPolicyDirectoryVolume(t *testing.T) {
	m := load(t)
	c := m.container(t)
	_, cfg := m.verdictConfig(t)
	dir, ok := lookup(cfg, "policies.dir")
	if !ok {
		t.Fatal("policies.dir is not set")
	}
	vm, v := m.mountFor(t, c, dir.(string))
	if vm.SubPath != "" {
		t.Error("the policy directory is mounted with subPath: subPath mounts never see ConfigMap updates")
	}
	if !vm.ReadOnly {
		t.Error("mount the policy directory read-only")
	}
	if v.ConfigMap == nil || m.configMaps[v.ConfigMap.Name] == nil {
		t.Fatalf("volume %q: want a ConfigMap from the kustomization", v.Name)
	}
}

// The ConfigMap's ${VAR} references and the container's environment agree,
// and no VERDICT_ variable names a key that does not exist.
func TestEnvironment(t *testing.T) {
	m := load(t)
	c := m.container(t)
	text, _ := m.verdictConfig(t)
	refs := regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`).FindAllStringSubmatch(stripComments(text), -1)
	used := map[string]bool{}
	for _, r := range refs {
		used[r[1]] = true
		if env(c, r[1]) == nil {
			t.Errorf("the config file uses ${%s}, which the container does not set (an unset variable is an error)", r[1])
		}
	}
	known := map[string]bool{}
	for _, k := range flatten(t, readDefaults(t)) {
		known[strings.ToLower(k)] = true
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && !used[e.Name] {
			t.Errorf("%s comes from a Secret but the config file never uses ${%s}", e.Name, e.Name)
		}
		rest, ok := strings.CutPrefix(e.Name, "VERDICT_")
		if !ok || !strings.Contains(rest, "__") {
			continue
		}
		key := strings.ToLower(strings.ReplaceAll(rest, "__", "."))
		if !known[key] {
			t.Errorf("%s names no key of cmd/verdict/defaults.yaml", e.Name)
		}
	}
	if sp := m.deployment.Spec.Template.Spec.EnableServiceLinks; sp == nil || *sp {
		t.Error("enableServiceLinks should be false: service links put VERDICT_* variables in the environment")
	}
}

// Deployment, Service, HPA and PDB agree on labels and names.
func TestSelectors(t *testing.T) {
	m := load(t)
	d := m.deployment
	podLabels := labels.Set(d.Spec.Template.Labels)
	if d.Spec.Selector == nil || len(d.Spec.Selector.MatchLabels) == 0 {
		t.Fatal("Deployment: no selector")
	}
	if !labels.SelectorFromSet(d.Spec.Selector.MatchLabels).Matches(podLabels) {
		t.Error("Deployment: selector does not match the pod template's labels")
	}
	if len(m.service.Spec.Selector) == 0 || !labels.SelectorFromSet(m.service.Spec.Selector).Matches(podLabels) {
		t.Error("Service: selector does not match the pods")
	}
	if s := m.pdb.Spec.Selector; s == nil || len(s.MatchLabels) == 0 || !labels.SelectorFromSet(s.MatchLabels).Matches(podLabels) {
		t.Error("PodDisruptionBudget: selector does not match the pods")
	}
	for _, tsc := range d.Spec.Template.Spec.TopologySpreadConstraints {
		if tsc.LabelSelector == nil || !labels.SelectorFromSet(tsc.LabelSelector.MatchLabels).Matches(podLabels) {
			t.Error("topologySpreadConstraints: selector does not match the pods")
		}
	}
	ref := m.hpa.Spec.ScaleTargetRef
	if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != d.Name {
		t.Errorf("HPA scales %s %s %q, not the Deployment %q", ref.APIVersion, ref.Kind, ref.Name, d.Name)
	}
	if d.Spec.Replicas != nil {
		t.Error("Deployment: replicas is set; the HPA owns it, and each apply would reset it")
	}
	h := m.hpa.Spec
	if h.MinReplicas == nil || *h.MinReplicas < 2 || h.MaxReplicas < *h.MinReplicas {
		t.Errorf("HPA: minReplicas %v, maxReplicas %d: want 2 <= min <= max", h.MinReplicas, h.MaxReplicas)
	}
	cpuMetric := false
	for _, mt := range h.Metrics {
		cpuMetric = cpuMetric || (mt.Resource != nil && mt.Resource.Name == corev1.ResourceCPU && mt.Resource.Target.AverageUtilization != nil)
	}
	if !cpuMetric {
		t.Error("HPA: want a CPU utilisation metric")
	}
	if ma := m.pdb.Spec.MinAvailable; ma == nil || h.MinReplicas == nil || ma.Type != intstr.Int || ma.IntVal >= *h.MinReplicas {
		t.Error("PodDisruptionBudget: minAvailable must be a number below the HPA's minReplicas, or no node can drain")
	}
	for _, obj := range []struct {
		kind   string
		labels map[string]string
	}{
		{"Deployment", d.Labels}, {"Service", m.service.Labels}, {"HorizontalPodAutoscaler", m.hpa.Labels},
		{"PodDisruptionBudget", m.pdb.Labels},
	} {
		if obj.labels["app.kubernetes.io/name"] != podLabels["app.kubernetes.io/name"] {
			t.Errorf("%s: label app.kubernetes.io/name %q, pods %q", obj.kind, obj.labels["app.kubernetes.io/name"], podLabels["app.kubernetes.io/name"])
		}
	}
}

// The policies ConfigMap holds modules and settings that fit a ConfigMap and
// load, and every ConfigMap volume names a ConfigMap of the kustomization.
func TestPoliciesConfigMap(t *testing.T) {
	m := load(t)
	c := m.container(t)
	_, cfg := m.verdictConfig(t)
	dir, _ := lookup(cfg, "policies.dir")
	_, v := m.mountFor(t, c, dir.(string))
	if v.ConfigMap == nil {
		t.Fatal("the policy directory is not a ConfigMap volume")
	}
	cm := m.configMaps[v.ConfigMap.Name]
	if cm == nil {
		t.Fatalf("ConfigMap %q is not in the kustomization", v.ConfigMap.Name)
	}
	raw, err := json.Marshal(cm)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) >= 1<<20 {
		t.Errorf("ConfigMap %s is %d bytes; the API server refuses 1 MiB and more", cm.Name, len(raw))
	}
	files := map[string][]byte{}
	modules := 0
	for name, b := range cm.BinaryData {
		if !strings.HasSuffix(name, ".wasm") {
			t.Errorf("binaryData %s: only modules need binaryData", name)
		}
		if !hasPrefixBytes(b, []byte("\x00asm\x01\x00\x00\x00")) {
			t.Errorf("binaryData %s is not a WebAssembly module", name)
		}
		files[name] = b
		modules++
	}
	if modules == 0 {
		t.Error("no module in the policies ConfigMap")
	}
	for name, text := range cm.Data {
		base, ext := strings.TrimSuffix(name, filepath.Ext(name)), filepath.Ext(name)
		switch ext {
		case ".yaml", ".yml", ".json":
			if _, ok := cm.BinaryData[base+".wasm"]; !ok {
				t.Errorf("data %s: settings for %s.wasm, which is not in the ConfigMap", name, base)
			}
			var v any
			if err := yaml.Unmarshal([]byte(text), &v); err != nil {
				t.Errorf("data %s: %v", name, err)
			}
		default:
			t.Errorf("data %s: Verdict ignores this file", name)
		}
		files[name] = []byte(text)
	}
	for _, vol := range m.deployment.Spec.Template.Spec.Volumes {
		if vol.ConfigMap != nil && m.configMaps[vol.ConfigMap.Name] == nil {
			t.Errorf("volume %s: ConfigMap %q is not in the kustomization", vol.Name, vol.ConfigMap.Name)
		}
	}

	bin := os.Getenv("VERDICT_BIN")
	if bin == "" {
		t.Log("VERDICT_BIN is not set: the modules are not loaded (make kubernetes-check sets it when build/verdict exists)")
		return
	}
	tmp := t.TempDir()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	requireSeal, _ := lookup(cfg, "policies.requireSeal")
	for name := range cm.BinaryData {
		out, err := exec.Command(bin, "inspect", filepath.Join(tmp, name)).CombinedOutput()
		if err != nil {
			t.Errorf("verdict inspect %s: %v\n%s", name, err, out)
			continue
		}
		if requireSeal == true && !regexp.MustCompile(`(?m)^\s*seal\s+sealed`).Match(out) {
			t.Errorf("%s is not sealed, and config.yaml sets policies.requireSeal\n%s", name, out)
		}
	}
}
