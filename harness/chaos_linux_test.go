package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portprobe/portprobe/manifest"
)

// Item 6: when a tab's renderer is killed (as the kernel's out-of-memory
// killer would), its realms are gone at once and calls on them say so.
func TestChaosKilledRendererEndsItsRealms(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	b, cs := launchMDN(t, Options{Logf: t.Logf, Timeout: 20 * time.Second})
	defer b.Close()
	killed := 0
	for _, pid := range descendants(profileUsers(b.profileDir)) {
		cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if bytes.Contains(cmdline, []byte("--type=renderer")) && !bytes.Contains(cmdline, []byte("--extension-process")) {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed++
			}
		}
	}
	if killed == 0 {
		t.Fatal("found no web renderer to kill")
	}
	select {
	case <-cs.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the content script's realm is not gone 5 s after its renderer was killed")
	}
	start := time.Now()
	if _, err := cs.Eval(t.Context(), "1"); !errors.Is(err, ErrRealmGone) || time.Since(start) > time.Second {
		t.Errorf("Eval in a killed renderer: %v after %v, want ErrRealmGone at once", err, time.Since(start))
	}
}

// descendants returns the processes under roots (renderers are the zygote's
// children, and their command lines do not name the profile).
func descendants(roots []int) []int {
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after ")".
		fields := bytes.Fields(stat[bytes.LastIndexByte(stat, ')')+1:])
		if len(fields) > 1 {
			parent[pid], _ = strconv.Atoi(string(fields[1]))
		}
	}
	in := map[int]bool{}
	for _, r := range roots {
		in[r] = true
	}
	var out []int
	for pid := range parent {
		for p := pid; p > 1; p = parent[p] {
			if in[p] {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// Item 3: a manifest.json that is a FIFO or is huge fails at once, without
// blocking on the read or filling the memory.
func TestChaosManifestThatIsNotAFile(t *testing.T) {
	fifo := t.TempDir()
	if err := syscall.Mkfifo(fifo+"/manifest.json", 0o644); err != nil {
		t.Fatal(err)
	}
	huge := t.TempDir()
	f, err := os.Create(huge + "/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(manifest.MaxSize + 1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	for name, dir := range map[string]string{"fifo": fifo, "huge": huge} {
		done := make(chan error, 1)
		go func() { _, err := manifest.Read(dir); done <- err }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s: ReadManifest succeeded", name)
			}
			t.Logf("%s: %v", name, err)
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: ReadManifest blocks", name)
		}
	}
}

// Item 3, through LoadExtension: the FIFO is refused before Chrome reads it.
func TestChaosLoadingAFIFOManifestFailsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	b := benchLaunch(t, Options{Logf: t.Logf})
	dir := t.TempDir()
	if err := syscall.Mkfifo(dir+"/manifest.json", 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := b.LoadExtension(t.Context(), dir)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("not a regular file")) || time.Since(start) > 2*time.Second {
		t.Errorf("loading a FIFO manifest: %v after %v, want a refusal at once", err, time.Since(start))
	}
}

// Item 2: a "Chrome" that answers its first command and then nothing more
// does not hold Launch past its context, and is ended.
func TestChaosBrowserThatStopsAnswering(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a fake browser")
	}
	fake := t.TempDir() + "/chrome"
	script := "#!/bin/sh\nprintf '{\"id\":1,\"result\":{}}\\0' >&4\nexec sleep 100000\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	launchFails(t, ctx, Options{ChromePath: fake, Logf: t.Logf}, 20*time.Second)
	noProfileLeft(t)
}

// Item 14: a "Chrome" that started a process of its own and never answers
// leaves nothing running once Launch gave up: Chrome leads a process group,
// which Close kills whole.
func TestChaosBrowserChildrenDoNotOutliveIt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a fake browser")
	}
	dir := t.TempDir()
	fake := dir + "/chrome"
	script := "#!/bin/sh\nsleep 100000 &\necho $! >\"$(dirname \"$0\")/child.pid\"\nexec sleep 100000\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	launchFails(t, ctx, Options{ChromePath: fake, Logf: t.Logf}, 20*time.Second)
	text, err := os.ReadFile(dir + "/child.pid")
	if err != nil {
		t.Fatalf("the fake browser did not start its child: %v", err)
	}
	pid, _ := strconv.Atoi(string(bytes.TrimSpace(text)))
	// Its parent is gone too, so init reaps it: wait for that.
	if !retryUntil(5*time.Second, 10*time.Millisecond, func() bool { return !running(pid) }) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the fake browser's child %d still runs after Launch failed", pid)
	}
}

// running reports whether the process runs (a zombie does not).
func running(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields := bytes.Fields(stat[bytes.LastIndexByte(stat, ')')+1:])
	return len(fields) > 0 && string(fields[0]) != "Z"
}

// Item 13: an extension that this user may not read gets an error that says
// so. Root reads everything, so as root the check runs in a copy of this
// test binary started as the user nobody.
func TestChaosUnreadableExtensionSaysPermission(t *testing.T) {
	if dir := os.Getenv("PORTPROBE_PERMISSION_DIR"); dir != "" {
		// The child: print each case's hint.
		for _, c := range []string{"manifest-000", "folder-no-x"} {
			fmt.Printf("%s: %s\n", c, explainLoadError(filepath.Join(dir, c), "Manifest is not valid JSON.  Can't read file."))
		}
		return
	}
	base, err := os.MkdirTemp("", "portprobe-permission-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	for _, c := range []string{"manifest-000", "folder-no-x"} {
		dir := filepath.Join(base, c)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFiles(t, dir, map[string]string{"manifest.json": `{"manifest_version":3,"name":"x","version":"1"}`})
	}
	os.Chmod(filepath.Join(base, "manifest-000", "manifest.json"), 0)
	os.Chmod(filepath.Join(base, "folder-no-x"), 0o644)
	defer os.Chmod(filepath.Join(base, "folder-no-x"), 0o755)
	os.Chmod(base, 0o755)
	cmd := exec.Command(os.Args[0], "-test.run=^TestChaosUnreadableExtensionSaysPermission$")
	cmd.Env = append(os.Environ(), "PORTPROBE_PERMISSION_DIR="+base)
	if os.Geteuid() == 0 {
		bin, err := os.ReadFile(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		copyPath := filepath.Join(base, "portprobe.test")
		if err := os.WriteFile(copyPath, bin, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd.Path, cmd.Args[0] = copyPath, copyPath
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Logf("%s", out)
	for _, want := range []string{
		"manifest-000: permission denied: manifest.json cannot be read by user nobody",
		"folder-no-x: permission denied: the folder cannot be searched (it lacks the x permission) by user nobody",
	} {
		if os.Geteuid() != 0 {
			want = strings.Replace(want, "user nobody", "user ", 1)
		}
		if !strings.Contains(string(out), want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
}
