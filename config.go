package meshobs

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/meshobs/meshobs/exporters/outbound"
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

var lineRef = regexp.MustCompile(`^line (\d+): `)

// nameKeys rewrites yaml's "line N: ..." type errors to name the key at
// that line, e.g. "retention: cannot unmarshal !!int into ...".
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
		if sm := lineRef.FindStringSubmatch(m); sm != nil {
			line, _ := strconv.Atoi(sm[1])
			if key := keyAtLine(&root, line, ""); key != "" {
				msgs[i] = key + ": " + strings.TrimPrefix(m, sm[0]) + " (" + strings.TrimSuffix(sm[0], ": ") + ")"
			}
		}
	}
	return errors.New(strings.Join(msgs, "; "))
}

// keyAtLine returns the dotted path of the mapping key on line, if any.
func keyAtLine(n *yaml.Node, line int, prefix string) string {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if k := keyAtLine(c, line, prefix); k != "" {
				return k
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			path := key.Value
			if prefix != "" {
				path = prefix + "." + key.Value
			}
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

// Validate reports every invalid value, naming its key.
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
	for key, v := range map[string]int{
		"limits.max_services":      c.Limits.MaxServices,
		"limits.max_edges":         c.Limits.MaxEdges,
		"limits.max_metric_series": c.Limits.MaxMetricSeries,
	} {
		if v < 1 {
			errs = append(errs, fmt.Errorf("%s: must be at least 1, not %d", key, v))
		}
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdown_timeout: must be positive, not %s", c.ShutdownTimeout))
	}
	errs = append(errs, c.Exporters.Validate())
	return errors.Join(errs...)
}
