// Command tinyforge-bot is a GitHub App that brings config-as-code to Tinyforge.
package main

import (
	"os"

	"github.com/tinyforge/tinyforge-bot/app"
)

func main() {
	os.Exit(app.Main(os.Args))
}
