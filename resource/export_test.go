package resource

// OccupyPasswordHasher takes every slot of h, as long-running hashes
// would, until the returned function is called: for tests of a busy
// hasher.
func OccupyPasswordHasher(h *PasswordHasher) (free func()) {
	for range cap(h.slots) {
		h.slots <- struct{}{}
	}
	return func() {
		for range cap(h.slots) {
			<-h.slots
		}
	}
}
