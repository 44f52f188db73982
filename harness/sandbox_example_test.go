package harness_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/portprobe/portprobe/harness"
)

// On a Linux machine where Chrome's sandbox cannot start for this user (an
// Ubuntu CI runner with a Chrome for Testing), Launch fails at once with a
// SandboxError that names the cause and the fixes. A test machine that opens
// only its own pages may then choose to run Chrome without the sandbox,
// saying so; PORTPROBE_NO_SANDBOX=1 does the same through OptionsFromEnv.
func ExampleSandboxError() {
	ctx := context.Background()
	opts := harness.Options{Logf: func(string, ...any) {}}
	b, err := harness.Launch(ctx, opts)
	var serr *harness.SandboxError
	if errors.As(err, &serr) && os.Getenv("CI") != "" {
		fmt.Println("no usable sandbox here, running Chrome without it:", serr.Cause)
		opts.NoSandbox = true
		b, err = harness.Launch(ctx, opts)
	}
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
}
