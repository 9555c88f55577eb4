//go:build tools

// Package tools pins the Loki command this wrapper builds.
package tools

import _ "github.com/grafana/loki/v3/pkg/loki"
