package layout

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// module is the module path; packages are named by their path below it.
const module = "github.com/needlestorm/needlestorm"

// The layers, highest first: a package may import any package of a lower
// layer, and one of its own layer only where siblings allows it.
var layers = [][]string{
	{"cmd/needlestorm"},
	{"campaign"},
	{"reports", "route", "loadgen", "endpoint", "live", "sim", "scrape"},
	{"run"},
	{"probes"},
	{"corpus"},
	// Neutralising outside text, suggesting what a misspelling meant,
	// writing JSON strings: the standard library only; setting the garbage
	// collector (automemlimit reads the process's memory limit).
	{"internal/termsafe", "internal/suggest", "internal/jsonstr", "internal/gctune"},
}

// siblings are the imports allowed within a layer.
var siblings = map[string][]string{
	"live":  {"loadgen"}, // progress and metrics observe the load engine's stages
	"route": {"reports"}, // routes are chosen from the envelopes reports owns
}

// only narrows what a package may import below it to the packages named.
var only = map[string][]string{
	"sim":              {"corpus", "run", "probes", "internal/jsonstr"}, // a server of its own, not part of load generation (probes: a dataset case's wrong answers are checked to be wrong by the scorer's rules)
	"scrape":           {"run", "internal/termsafe"},                    // a target's own metrics, read during its turn
	"internal/testkit": {"run", "probes", "corpus", "sim"},
	"internal/layout":  {},
	"internal/hostile": {}, // a misbehaving LLM server: the standard library only
}

// testOnly are packages that only _test.go files may import.
var testOnly = []string{"internal/testkit", "internal/layout", "internal/hostile"}

// noHTTPClient are the packages whose dependencies must hold none of
// forbiddenDeps: reading and rendering runs needs no HTTP client, no load
// engine and no live metrics.
var noHTTPClient = []string{"reports", "run", "route"}

var forbiddenDeps = []string{
	"github.com/sashabaranov/go-openai",
	"github.com/tsenart/vegeta",
	"github.com/VictoriaMetrics/metrics",
}

// maxShare is the largest share of the module's non-test Go lines one
// package may hold.
const maxShare = 0.25

// pkg is one package directory of the module.
type pkg struct {
	rel     string              // path below the module root, "" for the root
	files   []string            // non-test .go files
	tests   []string            // _test.go files
	lines   int                 // lines of the non-test files
	imports map[string][]string // module package (rel) → files importing it
}

// moduleRoot finds go.mod above the test's directory.
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

// scan reads every package directory of the module (skipping testdata,
// hidden and underscore directories, as the go tool does) and parses the
// imports of its Go files.
func scan(t *testing.T) map[string]*pkg {
	t.Helper()
	root := moduleRoot(t)
	pkgs := map[string]*pkg{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		rel = filepath.ToSlash(rel)
		if rel == "." {
			rel = ""
		}
		pk := pkgs[rel]
		if pk == nil {
			pk = &pkg{rel: rel, imports: map[string][]string{}}
			pkgs[rel] = pk
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, p, src, parser.ImportsOnly)
		if err != nil {
			return err
		}
		isTest := strings.HasSuffix(name, "_test.go")
		if isTest {
			pk.tests = append(pk.tests, name)
		} else {
			pk.files = append(pk.files, name)
			pk.lines += bytes.Count(src, []byte("\n"))
		}
		for _, im := range f.Imports {
			ip, _ := strconv.Unquote(im.Path.Value)
			if ip != module && !strings.HasPrefix(ip, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(strings.TrimPrefix(ip, module), "/")
			if isTest {
				dep = "test:" + dep
			}
			pk.imports[dep] = append(pk.imports[dep], name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 5 {
		t.Fatalf("found %d package directories under %s, want the module's", len(pkgs), root)
	}
	return pkgs
}

// layerOf returns the index of rel's layer, or -1.
func layerOf(rel string) int {
	for i, l := range layers {
		if slices.Contains(l, rel) {
			return i
		}
	}
	return -1
}

// allowed says whether package from may import package to, and why not.
func allowed(from, to string) (bool, string) {
	if slices.Contains(testOnly, to) {
		return false, to + " is for tests only"
	}
	if o, ok := only[from]; ok {
		if slices.Contains(o, to) {
			return true, ""
		}
		return false, fmt.Sprintf("%s may import only %v", from, o)
	}
	lf, lt := layerOf(from), layerOf(to)
	switch {
	case lt < 0:
		return false, to + " has no place in the layout"
	case lt < lf:
		return false, fmt.Sprintf("%s is above %s: imports run %s", to, from, direction())
	case lt == lf && !slices.Contains(siblings[from], to):
		return false, fmt.Sprintf("%s and %s share a layer, and siblings import each other only where the layout allows it (%s)", from, to, siblingEdges())
	}
	return true, ""
}

func siblingEdges() string {
	var edges []string
	for _, from := range sortedKeys(siblings) {
		for _, to := range siblings[from] {
			edges = append(edges, from+" → "+to)
		}
	}
	return strings.Join(edges, ", ")
}

func direction() string {
	parts := make([]string, len(layers))
	for i, l := range layers {
		parts[i] = strings.Join(l, ", ")
		if len(l) > 1 {
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return strings.Join(parts, " → ")
}

// TestImportDirection: every package has a place in the layout, and no
// non-test import runs upwards or sideways where the layout does not allow
// it; the test-only packages are imported from _test.go files alone.
func TestImportDirection(t *testing.T) {
	pkgs := scan(t)
	for _, rel := range sortedKeys(pkgs) {
		pk := pkgs[rel]
		if len(pk.files) == 0 {
			continue // tests only (examples), imported by nobody
		}
		if _, ok := only[rel]; !ok && layerOf(rel) < 0 {
			t.Errorf("package %q has no place in the layout: add it to a layer (or to only) in internal/layout/layout_test.go, and to the README's layout table", rel)
			continue
		}
		for _, dep := range sortedKeys(pk.imports) {
			if strings.HasPrefix(dep, "test:") {
				continue
			}
			if ok, why := allowed(rel, dep); !ok {
				t.Errorf("%s imports %s (%s): %s", rel, dep, strings.Join(pk.imports[dep], ", "), why)
			}
		}
	}
}

// TestAllowedImportsToday pins the rules themselves: the edges the layout
// allows and some it must refuse.
func TestAllowedImportsToday(t *testing.T) {
	tests := []struct {
		from, to string
		ok       bool
	}{
		{"cmd/needlestorm", "campaign", true},
		{"campaign", "loadgen", true},
		{"live", "loadgen", true},
		{"endpoint", "run", true},
		{"sim", "corpus", true},
		{"reports", "run", true},
		{"run", "probes", true},
		{"internal/testkit", "sim", true},
		{"endpoint", "loadgen", false},
		{"loadgen", "endpoint", false},
		{"loadgen", "live", false},
		{"loadgen", "reports", false},
		{"loadgen", "campaign", false},
		{"reports", "loadgen", false},
		{"reports", "endpoint", false},
		{"reports", "live", false},
		{"reports", "sim", false},
		{"reports", "campaign", false},
		{"route", "loadgen", false},
		{"sim", "probes", true},
		{"sim", "loadgen", false},
		{"run", "reports", false},
		{"probes", "run", false},
		{"corpus", "probes", false},
		{"campaign", "cmd/needlestorm", false},
		{"loadgen", "internal/testkit", false},
		{"internal/testkit", "loadgen", false},
		{"internal/testkit", "endpoint", false},
	}
	for _, tt := range tests {
		if ok, why := allowed(tt.from, tt.to); ok != tt.ok {
			t.Errorf("%s → %s allowed = %v (%s), want %v", tt.from, tt.to, ok, why, tt.ok)
		}
	}
}

// TestNoHTTPClientInReports: the dependencies of the packages that read and
// render runs hold no HTTP client library, load engine or metrics library.
func TestNoHTTPClientInReports(t *testing.T) {
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go tool is not on PATH (%v): cannot list dependencies", err)
	}
	root := moduleRoot(t)
	var pats []string
	for _, p := range noHTTPClient {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			pats = append(pats, "./"+p)
		}
	}
	for _, p := range pats {
		cmd := exec.Command(gotool, "list", "-deps", p)
		cmd.Dir = root
		// No network: the dependencies come from the module cache.
		cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly")
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("go list -deps %s: %v (it reads the module cache only: run go mod download first)\n%s", p, err, stderr)
		}
		deps := strings.Fields(string(out))
		if !slices.Contains(deps, path.Join(module, strings.TrimPrefix(p, "./"))) {
			t.Fatalf("go list -deps %s does not list the package itself:\n%s", p, out)
		}
		for _, d := range deps {
			for _, bad := range forbiddenDeps {
				if d == bad || strings.HasPrefix(d, bad+"/") {
					t.Errorf("go list -deps %s holds %s: reading runs must not pull in %s", p, d, bad)
				}
			}
		}
	}
}

// TestPackageShare: no package holds more than a quarter of the module's
// non-test Go lines.
func TestPackageShare(t *testing.T) {
	pkgs := scan(t)
	total := 0
	for _, pk := range pkgs {
		total += pk.lines
	}
	for _, rel := range sortedKeys(pkgs) {
		pk := pkgs[rel]
		if share := float64(pk.lines) / float64(total); share > maxShare {
			t.Errorf("%s holds %d of the module's %d non-test lines (%.0f%%), above %.0f%%: split it by concept", rel, pk.lines, total, 100*share, 100*maxShare)
		}
	}
}

// TestDocGo: every package directory with Go code has a doc.go whose
// package comment says what the package holds, and no other file of it
// holds a package comment.
func TestDocGo(t *testing.T) {
	root := moduleRoot(t)
	pkgs := scan(t)
	fset := token.NewFileSet()
	for _, rel := range sortedKeys(pkgs) {
		pk := pkgs[rel]
		if len(pk.files) == 0 {
			continue
		}
		dir := filepath.Join(root, filepath.FromSlash(rel))
		if !slices.Contains(pk.files, "doc.go") {
			t.Errorf("%s has no doc.go: add one whose package comment says what the package holds and what it must not import", rel)
		}
		for _, name := range pk.files {
			f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			doc := docText(f)
			switch {
			case name == "doc.go" && !docStartsRight(f.Name.Name, rel, doc):
				t.Errorf("%s/doc.go: the package comment %q should start %q", rel, firstLine(doc), docPrefix(f.Name.Name, rel))
			case name != "doc.go" && doc != "":
				t.Errorf("%s/%s holds a package comment (%q): keep it in doc.go alone", rel, name, firstLine(doc))
			}
		}
	}
}

func docText(f *ast.File) string {
	if f.Doc == nil {
		return ""
	}
	return strings.TrimSpace(f.Doc.Text())
}

// docPrefix is how a package comment starts: "Package name " or, for a
// command, "Command name " (or its name capitalised).
func docPrefix(name, rel string) string {
	if name == "main" {
		return "Command " + path.Base(rel) + " "
	}
	return "Package " + name + " "
}

func docStartsRight(name, rel, doc string) bool {
	if name == "main" {
		base := path.Base(rel)
		return strings.HasPrefix(doc, "Command "+base+" ") || strings.HasPrefix(doc, strings.ToUpper(base[:1])+base[1:]+" ")
	}
	return strings.HasPrefix(doc, "Package "+name+" ")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
