package main

import (
	"os"

	"github.com/insideout-go/insideout/linearize/campaign"
	"github.com/insideout-go/insideout/linearize/verify"
)

func main() { os.Exit(verify.Main(os.Args[1:], campaign.All())) }
