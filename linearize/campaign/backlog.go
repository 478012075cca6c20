package campaign

// backlogCampaign is the backlog's campaign: none yet (All leaves a nameless
// campaign out).
func backlogCampaign() Campaign { return Campaign{} }
