package promtest_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/meshobs/meshobs/e2e/tooltest"
)

// dashboardPath is the Grafana dashboard checked in under deploy/.
var dashboardPath = filepath.Join("..", "..", "deploy", "grafana", "meshobs-dashboard.json")

// panel is what the test reads of a Grafana panel.
type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a row's
}

type dashboard struct {
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"` // a string, or {"query": ...}
		} `json:"list"`
	} `json:"templating"`
}

// promQL is one expression of the dashboard, where it was found.
type promQL struct{ where, expr string }

// dashboardExprs reads the dashboard and returns every PromQL expression in
// it: panel targets, and the label_values() queries of its variables as
// the PromQL that answers them.
func dashboardExprs(t *testing.T) []promQL {
	t.Helper()
	b, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	var out []promQL
	ids := map[int]bool{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel id %d twice", p.ID)
			}
			ids[p.ID] = true
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q: datasource %+v, want the ${datasource} variable", p.Title, p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				out = append(out, promQL{p.Title + "/" + tg.RefID, tg.Expr})
			}
		}
	}
	walk(d.Panels)
	labelValues := regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(string)
		if m, ok := v.Query.(map[string]any); ok {
			q, _ = m["query"].(string)
		}
		sm := labelValues.FindStringSubmatch(q)
		if sm == nil {
			t.Errorf("variable %s: query %q is not label_values(metric, label)", v.Name, q)
			continue
		}
		out = append(out, promQL{"variable " + v.Name, "count by (" + sm[2] + ") (" + sm[1] + ")"})
	}
	return out
}

// grafanaVars are the values the test gives the dashboard's variables: the
// rate interval Grafana would pick for a 1 s scrape, and "All" services.
var grafanaVars = strings.NewReplacer("$__rate_interval", "1m", "${service}", ".*", "$service", ".*")

// unresolved finds a Grafana variable left in an expression ($1 in
// label_replace is PromQL's own).
var unresolved = regexp.MustCompile(`\$\{?[A-Za-z_]`)

// dashboardQueries checks that every PromQL expression of the dashboard
// parses and returns data from the e2e Prometheus.
func dashboardQueries(t *testing.T, prom *tooltest.PrometheusServer) {
	exprs := dashboardExprs(t)
	var sawNodeGraph bool
	for _, q := range exprs {
		sawNodeGraph = sawNodeGraph || strings.HasPrefix(q.where, "Service graph/")
	}
	if len(exprs) < 10 || !sawNodeGraph {
		t.Fatalf("dashboard queries: %v", exprs)
	}
	for _, q := range exprs {
		expr := grafanaVars.Replace(q.expr)
		if v := unresolved.FindString(expr); v != "" {
			t.Errorf("%s: unknown variable %s in %s", q.where, v, q.expr)
			continue
		}
		// A query that does not parse is refused at once (400 bad_data);
		// one that parses may need a second scrape before rate() has data.
		if _, err := prom.Query(t.Context(), expr); err != nil && strings.Contains(err.Error(), "bad_data") {
			t.Errorf("%s: %v", q.where, err)
			continue
		}
		v := prom.WaitForQuery(t, 60*time.Second, expr, nil)
		t.Logf("%s: %d series", q.where, len(v))
	}
}
