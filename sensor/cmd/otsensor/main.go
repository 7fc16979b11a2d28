// Command otsensor is the OTWatch sensor. See `otsensor --help`.
package main

import (
	"os"

	"github.com/otwatch/otwatch/sensor/cli"
)

func main() {
	os.Exit(cli.Execute(os.Args[1:], os.Stdout, os.Stderr))
}
