package meshobs

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/meshobs/meshobs/api"
	"github.com/meshobs/meshobs/exporters/outbound"
	"github.com/meshobs/meshobs/receiver"
)

// DefaultConfigYAML is config.yaml, the documented defaults built into the binary.
//
//go:embed config.yaml
var DefaultConfigYAML []byte

// Config is the node's configuration file.
type Config struct {
	// DefaultService names spans that name no service, and meshobs's own metric resource.
	DefaultService string `yaml:"default_service"`
	// MaxLineBytes is the longest input line accepted.
	MaxLineBytes int `yaml:"max_line_bytes"`
	// Retention bounds the in-memory stores' individual entries.
	Retention Retention `yaml:"retention"`
	// Limits caps what distinct names, edges and series can cost.
	Limits Limits `yaml:"limits"`
	// ShutdownTimeout bounds flushing at exit.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// Graph chooses the span rules of the service graph beyond Jaeger's.
	Graph GraphRules `yaml:"graph"`
	// Exporters sends spans, metrics and access logs out; all off by default.
	Exporters outbound.Config `yaml:"exporters"`
	// Receivers takes OTLP in (gRPC and HTTP); off by default.
	Receivers receiver.Config `yaml:"receivers"`
	// API serves the HTTP API and the web UI; off by default.
	API api.Config `yaml:"api"`
}

// Retention is how many of the newest individual entries each store keeps.
type Retention struct {
	// AccessLogs is the number of access-log entries kept for raw queries.
	AccessLogs int `yaml:"access_logs"`
	// Spans is the number of spans kept for get_trace and trace joins.
	Spans int `yaml:"spans"`
}

// Limits caps the cardinality the node tracks, so memory stays bounded.
type Limits struct {
	// MaxServices is the number of distinct service names tracked.
	MaxServices int `yaml:"max_services"`
	// MaxEdges is the number of distinct (source, target) edges tracked.
	MaxEdges int `yaml:"max_edges"`
	// MaxMetricSeries is the OTel SDK's cardinality limit per instrument.
	MaxMetricSeries int `yaml:"max_metric_series"`
}

// GraphRules turns on the servicegraph connector's span rules for the stdio
// node's graph (see graph.SpanBuilder); Jaeger's parent/child rule is always on.
type GraphRules struct {
	// ClientServer pairs a client span with its server child as one call.
	ClientServer bool `yaml:"client_server"`
	// Messaging pairs a producer span with its consumer child as one call.
	Messaging bool `yaml:"messaging"`
	// VirtualNodes turns client spans with no server side into calls to virtual nodes.
	VirtualNodes bool `yaml:"virtual_nodes"`
	// UserNode turns root server spans into calls from the node "user".
	UserNode bool `yaml:"user_node"`
	// Received are the rules for spans received over OTLP (receivers:);
	// the fields above are the stdio node's.
	Received SpanRules `yaml:"received"`
}

// SpanRules are the servicegraph connector's span rules for one source of
// spans; Jaeger's parent/child rule is always on.
type SpanRules struct {
	// ClientServer pairs a client span with its server child as one call.
	ClientServer bool `yaml:"client_server"`
	// Messaging pairs a producer span with its consumer child as one call.
	Messaging bool `yaml:"messaging"`
	// VirtualNodes turns client spans with no server side into calls to virtual nodes.
	VirtualNodes bool `yaml:"virtual_nodes"`
	// UserNode turns root server spans into calls from the node "user".
	UserNode bool `yaml:"user_node"`
}

// DefaultConfig returns the built-in configuration.
func DefaultConfig() Config {
	c, err := parseConfig(DefaultConfigYAML, Config{})
	if err != nil {
		panic("meshobs: built-in config.yaml is invalid: " + err.Error())
	}
	return c
}

// LoadConfig reads the file at path over the built-in defaults, so a file
// needs only the keys it changes. Unknown keys and invalid values are errors
// naming the key.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	c, err := parseConfig(data, DefaultConfig())
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

func parseConfig(data []byte, base Config) (Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	c := base
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, nameKeys(data, err)
	}
	return c, c.Validate()
}

var (
	lineRef = regexp.MustCompile(`^line (\d+): `)
	// yaml's messages for an unknown key and for a value that is no duration.
	unknownField = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	notDuration  = regexp.MustCompile("^cannot unmarshal !!(int|float|str) `(.*)` into time.Duration$")
	notScalar    = regexp.MustCompile("^cannot unmarshal !!\\w+ `(.*)` into (u?int\\d*|bool)$")
)

// nameKeys rewrites yaml's "line N: ..." type errors to name the key at
// that line, e.g. "retention: cannot unmarshal !!int into ... (line 3)",
// with a hint where one helps: the nearest known key for an unknown one,
// the unit a bare number needs to be a duration.
func nameKeys(data []byte, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return err
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		msgs[i] = m
		sm := lineRef.FindStringSubmatch(m)
		if sm == nil {
			continue
		}
		line, _ := strconv.Atoi(sm[1])
		msg, where := strings.TrimPrefix(m, sm[0]), " ("+strings.TrimSuffix(sm[0], ": ")+")"
		if uf := unknownField.FindStringSubmatch(msg); uf != nil {
			if key := keyNamed(&root, line, uf[1], ""); key != "" {
				msgs[i] = key + ": unknown key" + keyHint(key) + where
			}
			continue
		}
		key := keyAtLine(&root, line, "")
		if key == "" {
			continue
		}
		if nd := notDuration.FindStringSubmatch(msg); nd != nil {
			if nd[1] == "str" {
				msg = fmt.Sprintf("%q is not a duration: write a number with a unit, e.g. 5s, 250ms or 1m30s", nd[2])
			} else {
				msg = fmt.Sprintf("%s is not a duration: write %ss", nd[2], nd[2])
			}
		} else if ns := notScalar.FindStringSubmatch(msg); ns != nil {
			if ns[2] == "bool" {
				msg = fmt.Sprintf("%s is not true or false", ns[1])
			} else {
				msg = fmt.Sprintf("%s is not a whole number", ns[1])
			}
		}
		msgs[i] = key + ": " + msg + where
	}
	return errors.New(strings.Join(msgs, "; "))
}

// keyAtLine returns the dotted path of the mapping key on line, if any.
func keyAtLine(n *yaml.Node, line int, prefix string) string {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			if k := keyAtLine(c, line, prefix); k != "" {
				return k
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			path := joinKey(prefix, key.Value)
			if k := keyAtLine(val, line, path); k != "" {
				return k
			}
			if key.Line == line {
				return path
			}
		}
	}
	return ""
}

// keyNamed returns the dotted path of the mapping key name on line, if any
// (a line may hold several keys, in flow style).
func keyNamed(n *yaml.Node, line int, name, prefix string) string {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			if k := keyNamed(c, line, name, prefix); k != "" {
				return k
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			path := joinKey(prefix, key.Value)
			if key.Line == line && key.Value == name {
				return path
			}
			if k := keyNamed(val, line, name, path); k != "" {
				return k
			}
		}
	}
	return ""
}

func joinKey(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// keyHint suggests, for the unknown dotted key, the nearest key valid at
// its level (`; did you mean "retention"?`), or lists them when none is near.
func keyHint(key string) string {
	parent, name := "", key
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		parent, name = key[:i], key[i+1:]
	}
	var path []string
	if parent != "" {
		path = strings.Split(parent, ".")
	}
	known := knownKeys(reflect.TypeFor[Config](), path)
	if len(known) == 0 {
		return ""
	}
	if near := nearestKey(name, known); near != "" {
		return fmt.Sprintf("; did you mean %q?", near)
	}
	return "; known keys here: " + strings.Join(known, ", ")
}

// knownKeys returns the yaml keys valid at path below type t, in field
// order; nil when path leads to no struct.
func knownKeys(t reflect.Type, path []string) []string {
	for {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			t = t.Elem()
			continue
		case reflect.Map:
			if len(path) == 0 {
				return nil // a map's keys are free
			}
			t, path = t.Elem(), path[1:]
			continue
		case reflect.Struct:
		default:
			return nil
		}
		fields := structKeys(t)
		if len(path) == 0 {
			keys := make([]string, len(fields))
			for i, f := range fields {
				keys[i] = f.key
			}
			return keys
		}
		i := slices.IndexFunc(fields, func(f structKey) bool { return f.key == path[0] })
		if i < 0 {
			return nil
		}
		t, path = fields[i].typ, path[1:]
	}
}

type structKey struct {
	key string
	typ reflect.Type
}

// structKeys lists a struct's yaml keys as go.yaml.in/yaml/v3 maps them:
// the tag's name, else the lower-cased field name; inline structs flattened.
func structKeys(t reflect.Type) []structKey {
	var out []structKey
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if slices.Contains(strings.Split(opts, ","), "inline") && f.Type.Kind() == reflect.Struct {
			out = append(out, structKeys(f.Type)...)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out = append(out, structKey{name, f.Type})
	}
	return out
}

// nearestKey returns the known key closest to name when it is close
// enough to be a likely typo (edit distance at most 2, or a third of the
// name), or when one contains the other (logs -> access_logs); else "".
func nearestKey(name string, known []string) string {
	best, bestD := "", -1
	for _, k := range known {
		if d := levenshtein(name, k); bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	if bestD >= 0 && bestD <= max(2, len([]rune(name))/3) {
		return best
	}
	for _, k := range known {
		short, long := k, name
		if len(short) > len(long) {
			short, long = long, short
		}
		if len(short) >= 4 && strings.Contains(long, short) {
			return k
		}
	}
	return ""
}

// levenshtein is the edit distance between a and b, in runes.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// Validate reports every invalid value, naming its key, in the order of
// the keys in config.yaml.
func (c *Config) Validate() error {
	var errs []error
	if c.DefaultService == "" {
		errs = append(errs, errors.New("default_service: must not be empty"))
	}
	if c.MaxLineBytes < 1024 {
		errs = append(errs, fmt.Errorf("max_line_bytes: must be at least 1024, not %d", c.MaxLineBytes))
	}
	if c.Retention.AccessLogs < 1 {
		errs = append(errs, fmt.Errorf("retention.access_logs: must be at least 1, not %d", c.Retention.AccessLogs))
	}
	if c.Retention.Spans < 1 {
		errs = append(errs, fmt.Errorf("retention.spans: must be at least 1, not %d", c.Retention.Spans))
	}
	for _, l := range []struct {
		key string
		v   int
	}{
		{"limits.max_services", c.Limits.MaxServices},
		{"limits.max_edges", c.Limits.MaxEdges},
		{"limits.max_metric_series", c.Limits.MaxMetricSeries},
	} {
		if l.v < 1 {
			errs = append(errs, fmt.Errorf("%s: must be at least 1, not %d", l.key, l.v))
		}
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdown_timeout: must be positive, not %s", c.ShutdownTimeout))
	}
	errs = append(errs, c.Exporters.Validate(), c.Receivers.Validate(), c.API.Validate())
	return errors.Join(errs...)
}
