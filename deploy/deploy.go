// Package deploy ships what runs beside the workers: the Prometheus alerting rules
// (prometheus/alerts.yml) and the Grafana dashboard (grafana/entitybase-workers.json). It
// reads them with Prometheus' own rule and PromQL parsers, so the tests can check that they
// parse and that every metric they use is one a worker serves.
package deploy

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// Files are the shipped alerting rules and dashboard.
//
//go:embed prometheus/alerts.yml grafana/entitybase-workers.json
var Files embed.FS

// Paths of the shipped files in Files.
const (
	AlertsPath    = "prometheus/alerts.yml"
	DashboardPath = "grafana/entitybase-workers.json"
)

// Expr is one PromQL expression of the shipped files and where it is.
type Expr struct {
	Where  string // "alert EntitybaseJobFailing", "panel Lag per consumer group, target A"
	Query  string // as written (a dashboard's with Grafana's variables in it)
	Parsed parser.Expr
}

// Rules parses the alerting rules with Prometheus' rule-file parser (which parses and checks
// each expression and template too).
func Rules() (*rulefmt.RuleGroups, error) {
	b, err := Files.ReadFile(AlertsPath)
	if err != nil {
		return nil, err
	}
	groups, errs := rulefmt.Parse(b, false, model.UTF8Validation, newParser(), slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %w", AlertsPath, errors.Join(errs...))
	}
	return groups, nil
}

// Expressions parses every expression of the rules and the dashboard's panels.
func Expressions() ([]Expr, error) {
	groups, err := Rules()
	if err != nil {
		return nil, err
	}
	p := newParser()
	var out []Expr
	var errs []error
	add := func(where, query, parsable string) {
		e, err := p.ParseExpr(parsable)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q: %w", where, query, err))
			return
		}
		out = append(out, Expr{Where: where, Query: query, Parsed: e})
	}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			where := "alert " + r.Alert
			if r.Record != "" {
				where = "record " + r.Record
			}
			add(where, r.Expr, r.Expr)
		}
	}
	panels, err := dashboardTargets()
	if err != nil {
		return nil, err
	}
	for _, t := range panels {
		add(t.where, t.expr, withGrafanaVariables(t.expr))
	}
	return out, errors.Join(errs...)
}

// MetricNames are the metric names the expressions select, sorted.
func MetricNames(exprs []Expr) []string {
	seen := map[string]bool{}
	for _, e := range exprs {
		parser.Inspect(e.Parsed, func(n parser.Node, _ []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			name := vs.Name
			for _, m := range vs.LabelMatchers {
				if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
					name = m.Value
				}
			}
			if name != "" {
				seen[name] = true
			}
			return nil
		})
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Matchers are the label matchers of the selectors of metric in e.
func Matchers(e Expr, metric string) []*labels.Matcher {
	var out []*labels.Matcher
	parser.Inspect(e.Parsed, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && vs.Name == metric {
			out = append(out, vs.LabelMatchers...)
		}
		return nil
	})
	return out
}

// ScrapeSynthesized are the series Prometheus makes itself when it scrapes, which no worker
// serves.
var ScrapeSynthesized = map[string]bool{
	"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true,
	"scrape_samples_post_metric_relabeling": true, "scrape_series_added": true,
}

type target struct{ where, expr string }

// dashboardTargets are the queries of the dashboard's panels, rows' panels included.
func dashboardTargets() ([]target, error) {
	b, err := Files.ReadFile(DashboardPath)
	if err != nil {
		return nil, err
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr  string `json:"expr"`
			RefID string `json:"refId"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var d struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", DashboardPath, err)
	}
	var out []target
	var walk func([]json.RawMessage) error
	walk = func(raw []json.RawMessage) error {
		for _, r := range raw {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				return fmt.Errorf("%s: %w", DashboardPath, err)
			}
			for _, t := range p.Targets {
				out = append(out, target{where: fmt.Sprintf("panel %s, target %s", p.Title, t.RefID), expr: t.Expr})
			}
			if err := walk(p.Panels); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(d.Panels)
}

// withGrafanaVariables puts durations in place of Grafana's interval variables, which
// Grafana replaces before it sends a query.
func withGrafanaVariables(q string) string {
	return strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1d").Replace(q)
}

func newParser() parser.Parser { return parser.NewParser(parser.Options{}) }
