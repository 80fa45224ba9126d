package exporters

import (
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/meshobs/meshobs/semconv"
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
	v, _ := res.Set().Value(semconv.ServiceName)
	name := v.AsString()
	m[res] = name
	return name
}
