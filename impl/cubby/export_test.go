package cubby

// SetWaits sets how many times a side that must wait looks again, and
// then yields and looks, before it parks, until the returned function
// restores them. With both 0 every wait parks at once.
func SetWaits(looks, yields int) (restore func()) {
	oldLooks, oldYields := waitLooks, waitYields
	waitLooks, waitYields = looks, yields
	return func() { waitLooks, waitYields = oldLooks, oldYields }
}
