package campaign

import (
	"github.com/insideout-go/insideout/impl/rt/rttest"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
)

// runtimeCampaign is the runtimes' campaign.
func runtimeCampaign() Campaign {
	return FromScenario("runtime", "impl/rt: halt, freeze, thaw, interrupt, cancel, eject, flags and join at once against a runtime counting its steps; a frozen runtime runs no step",
		func() linearize.Scenario[rttest.Counted, model.RuntimeInput, model.RuntimeOutput] {
			return rttest.Scenario("runtime", rttest.NewCounted)
		})
}
