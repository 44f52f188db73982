package harness_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portprobe/portprobe/harness"
)

// The harness talks to Chrome over a pipe only: while a browser with an
// extension and a tab runs, none of Chrome's processes listens on TCP.
func TestChromeListensOnNoTCPPort(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc to find Chrome's sockets")
	}
	if testing.Short() {
		t.Skip("starts the browser")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := harness.Launch(ctx, harness.Options{
		Extensions: []string{"../fixtures/extensions/mdn-example"},
		Logf:       t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.OpenTab(ctx, b.Pages().URL("/")); err != nil {
		t.Fatal(err)
	}

	pids := descendants(t, os.Getpid())
	chrome := 0
	sockets := map[string]int{} // socket inode -> pid
	for _, pid := range pids {
		if !strings.Contains(readProc(pid, "cmdline"), "chrom") {
			continue
		}
		chrome++
		fds, _ := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd"))
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "fd", fd.Name()))
			if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
				sockets[strings.TrimSuffix(inode, "]")] = pid
			}
		}
	}
	if chrome == 0 {
		t.Fatalf("found no Chrome process among the %d descendants of this test", len(pids))
	}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue // no IPv6, for one
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			// local_address rem_address st ... inode is the tenth field.
			if len(fields) < 10 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			if pid, ok := sockets[fields[9]]; ok {
				t.Errorf("Chrome process %d (%s) listens on %s (%s)", pid, readProc(pid, "comm"), fields[1], table)
			}
		}
		f.Close()
	}
	t.Logf("checked %d Chrome processes with %d sockets", chrome, len(sockets))
}

// descendants returns the processes whose parent chain reaches pid.
func descendants(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	parent := map[int]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// stat: pid (comm) state ppid ...; comm may hold spaces.
		stat := readProc(p, "stat")
		if i := strings.LastIndexByte(stat, ')'); i >= 0 {
			if f := strings.Fields(stat[i+1:]); len(f) > 1 {
				parent[p], _ = strconv.Atoi(f[1])
			}
		}
	}
	var out []int
	for p := range parent {
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

func readProc(pid int, name string) string {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), name))
	return string(b)
}

// A debugging port is refused before Chrome starts, with a reason.
func TestLaunchRefusesADebuggingPort(t *testing.T) {
	for _, flag := range []string{"remote-debugging-port", "--remote-debugging-address"} {
		_, err := harness.Launch(context.Background(), harness.Options{
			ChromePath: os.Args[0], // never started
			Flags:      map[string]any{flag: "0"},
		})
		if err == nil || !strings.Contains(err.Error(), "over a pipe only") {
			t.Errorf("Launch with %s: error %v, want one saying the harness uses a pipe only", flag, err)
		}
	}
}
