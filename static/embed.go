// Package static holds the reference site's stylesheet, embedded so that
// the binary needs no files at run time. The site serves it under /static/.
package static

import "embed"

// FS holds the files served under /static/.
//
//go:embed *.css
var FS embed.FS
