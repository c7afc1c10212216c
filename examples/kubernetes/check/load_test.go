package check

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Paths relative to this package's directory, where go test runs.
const (
	exampleDir   = ".."
	repoRoot     = "../../.."
	defaultsFile = repoRoot + "/cmd/verdict/defaults.yaml"
)

// kustomization is the part of kustomize's Kustomization the example uses;
// decoding it strictly catches a field this check does not know about.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images,omitempty"`
}

// manifests holds every object of the example, each decoded strictly.
type manifests struct {
	kustomization kustomization
	deployment    *appsv1.Deployment
	service       *corev1.Service
	hpa           *autoscalingv2.HorizontalPodAutoscaler
	pdb           *policyv1.PodDisruptionBudget
	configMaps    map[string]*corev1.ConfigMap
}

// load reads kustomization.yaml and every resource it lists.
func load(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{configMaps: map[string]*corev1.ConfigMap{}}
	data, err := os.ReadFile(filepath.Join(exampleDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, &m.kustomization); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	for _, res := range m.kustomization.Resources {
		data, err := os.ReadFile(filepath.Join(exampleDir, res))
		if err != nil {
			t.Fatalf("kustomization resource: %v", err)
		}
		for i, doc := range splitDocuments(data) {
			if err := m.add(doc); err != nil {
				t.Fatalf("%s, document %d: %v", res, i+1, err)
			}
		}
	}
	if m.deployment == nil || m.service == nil || m.hpa == nil || m.pdb == nil {
		t.Fatal("the kustomization needs a Deployment, a Service, a HorizontalPodAutoscaler and a PodDisruptionBudget")
	}
	return m
}

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// splitDocuments splits a multi-document YAML file, dropping empty documents.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range docSeparator.Split(string(data), -1) {
		if strings.TrimSpace(stripComments(d)) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// add decodes one document into the API type its apiVersion and kind name,
// refusing unknown fields, duplicate keys and a second object of a kind.
func (m *manifests) add(doc []byte) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	strict := func(obj any) error { return yaml.UnmarshalStrict(doc, obj) }
	once := func(set bool) error {
		if set {
			return fmt.Errorf("a second %s", tm.Kind)
		}
		return nil
	}
	switch gvk := tm.APIVersion + " " + tm.Kind; gvk {
	case "apps/v1 Deployment":
		if err := once(m.deployment != nil); err != nil {
			return err
		}
		m.deployment = &appsv1.Deployment{}
		return strict(m.deployment)
	case "v1 Service":
		if err := once(m.service != nil); err != nil {
			return err
		}
		m.service = &corev1.Service{}
		return strict(m.service)
	case "autoscaling/v2 HorizontalPodAutoscaler":
		if err := once(m.hpa != nil); err != nil {
			return err
		}
		m.hpa = &autoscalingv2.HorizontalPodAutoscaler{}
		return strict(m.hpa)
	case "policy/v1 PodDisruptionBudget":
		if err := once(m.pdb != nil); err != nil {
			return err
		}
		m.pdb = &policyv1.PodDisruptionBudget{}
		return strict(m.pdb)
	case "v1 ConfigMap":
		cm := &corev1.ConfigMap{}
		if err := strict(cm); err != nil {
			return err
		}
		if m.configMaps[cm.Name] != nil {
			return fmt.Errorf("a second ConfigMap %q", cm.Name)
		}
		m.configMaps[cm.Name] = cm
		return nil
	default:
		return fmt.Errorf("unexpected object %q (add it to this check)", gvk)
	}
}

// container is the Deployment's verdict container.
func (m *manifests) container(t *testing.T) *corev1.Container {
	t.Helper()
	cs := m.deployment.Spec.Template.Spec.Containers
	for i := range cs {
		if cs[i].Name == "verdict" {
			return &cs[i]
		}
	}
	t.Fatal("the Deployment has no container named verdict")
	return nil
}

// env returns the container's variable name, or nil.
func env(c *corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

// mountFor returns the container's mount at path and the volume behind it.
func (m *manifests) mountFor(t *testing.T, c *corev1.Container, path string) (*corev1.VolumeMount, *corev1.Volume) {
	t.Helper()
	for i := range c.VolumeMounts {
		vm := &c.VolumeMounts[i]
		if filepath.Clean(vm.MountPath) != filepath.Clean(path) {
			continue
		}
		for j := range m.deployment.Spec.Template.Spec.Volumes {
			if v := &m.deployment.Spec.Template.Spec.Volumes[j]; v.Name == vm.Name {
				return vm, v
			}
		}
		t.Fatalf("volume mount %q names no volume", vm.Name)
	}
	t.Fatalf("nothing is mounted at %s", path)
	return nil, nil
}

// verdictConfig returns the config file the Deployment points VERDICT_CONFIG
// at, taken from the ConfigMap mounted there, and its parsed content.
func (m *manifests) verdictConfig(t *testing.T) (string, map[string]any) {
	t.Helper()
	c := m.container(t)
	e := env(c, "VERDICT_CONFIG")
	if e == nil || e.Value == "" {
		t.Fatal("VERDICT_CONFIG is not set")
	}
	vm, v := m.mountFor(t, c, filepath.Dir(e.Value))
	if vm.SubPath != "" || v.ConfigMap == nil {
		t.Fatalf("%s: want a ConfigMap volume without subPath", vm.MountPath)
	}
	cm := m.configMaps[v.ConfigMap.Name]
	if cm == nil {
		t.Fatalf("volume %q: ConfigMap %q is not in the kustomization", v.Name, v.ConfigMap.Name)
	}
	text, ok := cm.Data[filepath.Base(e.Value)]
	if !ok {
		t.Fatalf("ConfigMap %q has no key %q for VERDICT_CONFIG=%s", cm.Name, filepath.Base(e.Value), e.Value)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
		t.Fatalf("ConfigMap %q, %s: %v", cm.Name, filepath.Base(e.Value), err)
	}
	return text, cfg
}

// lookup follows a dotted path through nested maps.
func lookup(cfg map[string]any, path string) (any, bool) {
	var cur any = cfg
	for _, k := range strings.Split(path, ".") {
		mp, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mp[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// hasPrefixBytes reports whether b starts with p.
func hasPrefixBytes(b, p []byte) bool { return bytes.HasPrefix(b, p) }
