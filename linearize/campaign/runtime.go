package campaign

import (
	"github.com/insideout-go/insideout/impl/rt/rttest"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
)

// runtimeCampaign is the runtimes' campaign.
func runtimeCampaign() Campaign {
	return FromScenario("runtime", "impl/rt: halt, freeze, thaw, interrupt, cancel, eject, flags, join, link, unlink, signal and halters (HaltAfter, then Stop) at once against three runtimes counting their steps; a frozen runtime runs no step, a teardown halts the runtimes linked to it (a failure passed on as ErrLinkedFailure) and no other, a halter that reports sparing a runtime never halts it",
		func() linearize.Scenario[rttest.Group, model.RuntimeInput, model.RuntimeOutput] {
			return rttest.GroupScenario("runtime", rttest.NewGroup)
		})
}
