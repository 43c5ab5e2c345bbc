// Package static holds the reference site's stylesheet, icon and script,
// embedded so that the binary needs no files at run time. The site serves
// them under /static/.
package static

import "embed"

// FS holds the files served under /static/.
//
//go:embed *.css *.svg *.js
var FS embed.FS
