package campaign

// cubbyCampaign is the cubby's campaign: none yet (All leaves a nameless
// campaign out).
func cubbyCampaign() Campaign { return Campaign{} }
