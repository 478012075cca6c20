package campaign_test

import (
	"testing"

	"github.com/insideout-go/insideout/linearize/campaign"
)

// Control operations from several clients against a counting runtime.
func TestRuntimeLinearizable(t *testing.T) {
	sc := campaign.RuntimeScenario("runtime", campaign.NewCounted)
	sc.Rounds = 300
	sc.Test(t)
}
