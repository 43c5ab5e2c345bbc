// Package templates holds the reference site's html/template pages,
// embedded so that the binary needs no files at run time. Every page is
// parsed together with base.html, which defines the layout and the
// navigation; the page defines the "title" and "main" templates.
package templates

import "embed"

// FS holds every *.html file of this folder.
//
//go:embed *.html
var FS embed.FS
