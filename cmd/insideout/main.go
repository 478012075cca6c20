package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/insideout-go/insideout/cmd/insideout/internal/mutate"
	"github.com/insideout-go/insideout/linearize/campaign"
	"github.com/insideout-go/insideout/linearize/verify"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "mutate" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := mutate.Main(ctx, os.Args[2:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(verify.Main(os.Args[1:], campaign.All()))
}
