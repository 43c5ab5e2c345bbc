// Package configs holds the shipped configuration files: the default that
// `web` runs with no -config flag, and one file per documented setup.
package configs

import "embed"

// Files are the configuration files of this folder.
//
//go:embed *.conf
var Files embed.FS

// Default is the name of the configuration `web` runs by default.
const Default = "default.conf"
