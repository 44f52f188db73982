package harness

// For the tests of package harness_test.

// ProfileDir is the browser's profile folder.
func (b *Browser) ProfileDir() string { return b.profileDir }

// ProfileUsers lists the processes whose command line names the profile.
var ProfileUsers = profileUsers
