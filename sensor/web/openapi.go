package web

import (
	_ "embed"
)

//go:embed openapi.yaml
var openAPISpec []byte

// OpenAPI returns the hand-written OpenAPI 3 description of the API,
// served at GET /api/v1/openapi.yaml. A test checks that its paths and
// methods are exactly the registered routes, and walks it for the
// security checks (x-otwatch-role on each operation).
func OpenAPI() []byte { return append([]byte(nil), openAPISpec...) }
