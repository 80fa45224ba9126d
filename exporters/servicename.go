package exporters

import (
	"go.opentelemetry.io/otel/sdk/resource"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.37.0"
)

// serviceNames caches the service.name of each resource. A provider hands
// every record or span the same *resource.Resource, so a pointer lookup
// replaces an attribute search per item. Not safe for concurrent use: the
// stores guard it with their mutex.
type serviceNames map[*resource.Resource]string

func (m serviceNames) of(res *resource.Resource) string {
	if name, ok := m[res]; ok {
		return name
	}
	v, _ := res.Set().Value(otelsemconv.ServiceNameKey)
	name := v.AsString()
	m[res] = name
	return name
}
