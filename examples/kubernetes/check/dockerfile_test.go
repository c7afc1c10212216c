package check

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, COPY, RUN, ...
	args string
}

// stage is a FROM and the instructions under it.
type stage struct {
	name  string
	image string
	body  []instruction
}

func parseDockerfile(t *testing.T) []stage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(exampleDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var ins []instruction
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		ins = append(ins, instruction{start, strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	var stages []stage
	for _, in := range ins {
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			var s stage
			for i := 0; i < len(f); i++ {
				switch {
				case strings.HasPrefix(f[i], "--"):
				case strings.EqualFold(f[i], "AS") && i+1 < len(f):
					s.name = f[i+1]
					i++
				case s.image == "":
					s.image = f[i]
				}
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("Dockerfile:%d: %s before FROM", in.line, in.cmd)
			}
			continue
		}
		stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
	}
	if len(stages) < 2 {
		t.Fatal("Dockerfile: want a multi-stage build")
	}
	return stages
}

// copyArgs splits a COPY's flags from its sources and destination.
func copyArgs(args string) (flags map[string]string, srcs []string, dst string) {
	flags = map[string]string{}
	var rest []string
	for _, f := range strings.Fields(args) {
		if k, v, ok := strings.Cut(strings.TrimPrefix(f, "--"), "="); strings.HasPrefix(f, "--") && ok {
			flags[k] = v
			continue
		}
		rest = append(rest, f)
	}
	if len(rest) < 2 {
		return flags, nil, ""
	}
	return flags, rest[:len(rest)-1], rest[len(rest)-1]
}

// last returns the final stage's instructions named cmd.
func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.body {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func dockerfileUser(t *testing.T) string {
	t.Helper()
	stages := parseDockerfile(t)
	users := stages[len(stages)-1].all("USER")
	if len(users) == 0 {
		t.Fatal("Dockerfile: the runtime stage sets no USER")
	}
	uid, _, _ := strings.Cut(users[len(users)-1].args, ":")
	return uid
}

func dockerfileExpose(t *testing.T) string {
	t.Helper()
	stages := parseDockerfile(t)
	ex := stages[len(stages)-1].all("EXPOSE")
	if len(ex) != 1 {
		t.Fatal("Dockerfile: want one EXPOSE")
	}
	p, _, _ := strings.Cut(ex[0].args, "/")
	return p
}

// dockerignored reports whether Dockerfile.dockerignore keeps path out of the
// build context (plain path prefixes and **/NAME, which is all it uses).
func dockerignored(t *testing.T, path string) bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(exampleDir, "Dockerfile.dockerignore"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		p := strings.TrimSpace(line)
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		if strings.HasPrefix(p, "!") || strings.ContainsAny(strings.TrimPrefix(p, "**/"), "*?[") {
			t.Fatalf("Dockerfile.dockerignore: %q: teach dockerignored this pattern", p)
		}
		if name, ok := strings.CutPrefix(p, "**/"); ok {
			for _, part := range strings.Split(path, "/") {
				if part == name {
					return true
				}
			}
			continue
		}
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t)
	build, final := stages[0], stages[len(stages)-1]

	t.Run("builder", func(t *testing.T) {
		mv := regexp.MustCompile(`^golang:(\d+)\.(\d+)`).FindStringSubmatch(build.image)
		if mv == nil {
			t.Fatalf("builder image %q: want golang:X.Y", build.image)
		}
		gomod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		need := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)`).FindStringSubmatch(string(gomod))
		if need == nil {
			t.Fatal("go.mod: no go directive")
		}
		atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
		if atoi(mv[1]) < atoi(need[1]) || (atoi(mv[1]) == atoi(need[1]) && atoi(mv[2]) < atoi(need[2])) {
			t.Errorf("builder %s is older than go.mod's go %s.%s", build.image, need[1], need[2])
		}
	})

	// Every file the build context must provide exists and is not ignored.
	t.Run("context", func(t *testing.T) {
		for _, s := range stages {
			for _, in := range s.all("COPY") {
				flags, srcs, _ := copyArgs(in.args)
				if _, ok := flags["from"]; ok {
					continue
				}
				for _, src := range srcs {
					if src == "." {
						continue
					}
					if _, err := os.Stat(filepath.Join(repoRoot, src)); err != nil {
						t.Errorf("Dockerfile:%d: COPY %s: not in the repository", in.line, src)
					}
					if dockerignored(t, strings.TrimSuffix(src, "/")) {
						t.Errorf("Dockerfile:%d: COPY %s: excluded by Dockerfile.dockerignore", in.line, src)
					}
				}
			}
		}
		for _, must := range []string{"go.mod", "go.sum", "cmd/verdict", "sdk/go", "Makefile", "mk/guests.mk"} {
			if dockerignored(t, must) {
				t.Errorf("Dockerfile.dockerignore excludes %s, which the builder needs", must)
			}
		}
	})

	// The binary: static, trimmed, built from ./cmd/verdict to the path the
	// runtime stage copies and runs.
	t.Run("binary", func(t *testing.T) {
		var out string
		for _, in := range build.all("RUN") {
			if !strings.Contains(in.args, "./cmd/verdict") || !strings.Contains(in.args, "CGO_ENABLED=0") {
				continue
			}
			if !strings.Contains(in.args, "-trimpath") {
				t.Errorf("Dockerfile:%d: build with -trimpath", in.line)
			}
			if m := regexp.MustCompile(`-o (\S+) \./cmd/verdict`).FindStringSubmatch(in.args); m != nil {
				out = m[1]
			}
		}
		if out == "" {
			t.Fatal("builder: no `CGO_ENABLED=0 go build ... -o PATH ./cmd/verdict`")
		}
		eps := final.all("ENTRYPOINT")
		if len(eps) != 1 {
			t.Fatal("runtime stage: want one ENTRYPOINT")
		}
		var ep []string
		if err := json.Unmarshal([]byte(eps[0].args), &ep); err != nil {
			t.Fatalf("ENTRYPOINT %s: want the exec (JSON) form: %v", eps[0].args, err)
		}
		if len(ep) != 2 || ep[1] != "serve" {
			t.Fatalf("ENTRYPOINT %v: want [BINARY, serve]", ep)
		}
		copied := false
		for _, in := range final.all("COPY") {
			flags, srcs, dst := copyArgs(in.args)
			if flags["from"] == build.name && len(srcs) == 1 && srcs[0] == out && dst == ep[0] {
				copied = true
			}
		}
		if !copied {
			t.Errorf("runtime stage: no `COPY --from=%s %s %s` for the ENTRYPOINT", build.name, out, ep[0])
		}
	})

	t.Run("runtime", func(t *testing.T) {
		if !regexp.MustCompile(`^(gcr\.io/distroless/static[-\w]*:nonroot|scratch)$`).MatchString(final.image) {
			t.Errorf("runtime image %q: want distroless static nonroot or scratch", final.image)
		}
		if u := dockerfileUser(t); u == "0" || u == "root" {
			t.Error("runtime stage runs as root")
		}
		// COPY --from sources are made by the builder (a go build -o or a
		// mkdir -p of the stage).
		var made []string
		for _, in := range build.all("RUN") {
			for _, m := range regexp.MustCompile(`(?:-o|mkdir -p) (/[^\s;&|]+)`).FindAllStringSubmatch(in.args, -1) {
				made = append(made, strings.TrimSuffix(m[1], "/"))
			}
		}
		for _, in := range final.all("COPY") {
			flags, srcs, _ := copyArgs(in.args)
			if flags["from"] != build.name {
				continue
			}
			for _, src := range srcs {
				ok := false
				for _, p := range made {
					ok = ok || strings.TrimSuffix(src, "/") == p
				}
				if !ok {
					t.Errorf("Dockerfile:%d: COPY --from=%s %s: the builder makes no such path (made: %v)", in.line, build.name, src, made)
				}
			}
		}
		// The baked config file is where VERDICT_CONFIG points.
		var cfgDst, cfgEnv string
		for _, in := range final.all("COPY") {
			if _, srcs, dst := copyArgs(in.args); len(srcs) == 1 && srcs[0] == "examples/kubernetes/image/verdict.yaml" {
				cfgDst = dst
			}
		}
		for _, in := range final.all("ENV") {
			if v, ok := strings.CutPrefix(in.args, "VERDICT_CONFIG="); ok {
				cfgEnv = v
			}
		}
		if cfgDst == "" || cfgDst != cfgEnv {
			t.Errorf("image config copied to %q, VERDICT_CONFIG=%q", cfgDst, cfgEnv)
		}
	})

	// POLICY_MODULES' default names guest modules mk/guests.mk can build.
	t.Run("modules", func(t *testing.T) {
		mk, err := os.ReadFile(filepath.Join(repoRoot, "mk", "guests.mk"))
		if err != nil {
			t.Fatal(err)
		}
		list := func(v string) []string {
			m := regexp.MustCompile(`(?m)^` + v + `\s*:=\s*(.*)$`).FindStringSubmatch(string(mk))
			if m == nil {
				t.Fatalf("mk/guests.mk: no %s", v)
			}
			return strings.Fields(m[1])
		}
		known := map[string]bool{}
		for _, p := range list("GUEST_POLICIES") {
			known["policies/"+p] = true
		}
		for _, e := range list("GUEST_EXAMPLES") {
			known["examples/"+e] = true
		}
		var def string
		for _, in := range build.all("ARG") {
			if v, ok := strings.CutPrefix(in.args, "POLICY_MODULES="); ok {
				def = strings.Trim(v, `"`)
			}
		}
		if def == "" {
			t.Fatal("builder: no ARG POLICY_MODULES default")
		}
		for _, m := range strings.Fields(def) {
			if !known[m] {
				t.Errorf("POLICY_MODULES: %s is not a guest of mk/guests.mk (build/%s.wasm)", m, m)
			}
		}
	})
}
