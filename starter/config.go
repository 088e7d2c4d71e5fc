package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/entitybase/entitybase-workers/internal/config"
)

func configCommand() command {
	return command{
		path:    "config",
		summary: "List every environment variable with its default and its meaning.",
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			markdown := fs.Bool("markdown", false, "print the README's Markdown table")
			return func(_ context.Context, e *env) error {
				if *markdown {
					fmt.Fprintln(e.out, "| Variable | Default | Meaning |\n|---|---|---|")
					for _, v := range config.Vars() {
						fmt.Fprintf(e.out, "| `%s` | `%s` | %s |\n", v.Name, v.Default, v.About)
					}
					return nil
				}
				tw := tabwriter.NewWriter(e.out, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "VARIABLE\tDEFAULT\tMEANING")
				for _, v := range config.Vars() {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, v.Default, v.About)
				}
				return tw.Flush()
			}
		},
	}
}
