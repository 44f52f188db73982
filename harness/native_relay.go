package harness

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
)

// runNativeRelay is what this program does when Chrome starts it as a
// native messaging host that the harness installed (the host's script sets
// relayEnv; see InstallNativeHost): it connects to the harness, says hello
// with its arguments, and carries bytes both ways between Chrome's pipes and
// the harness until the harness says to exit, or dies when told to. It
// returns the exit status.
func runNativeRelay(sock string) int {
	conn, err := net.Dial("unix", sock)
	if err != nil {
		fmt.Fprintf(os.Stderr, "portprobe native host: the harness is gone: %v\n", err)
		return 1
	}
	hello, _ := json.Marshal(map[string]any{"args": os.Args[1:], "pid": os.Getpid()})
	if err := writeRelayFrame(conn, relayHello, hello); err != nil {
		return 1
	}
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := os.Stdin.Read(buf)
			if n > 0 {
				if writeRelayFrame(conn, relayStdin, buf[:n]) != nil {
					return
				}
			}
			if err != nil {
				writeRelayFrame(conn, relayEOF, nil)
				return
			}
		}
	}()
	for {
		typ, payload, err := readRelayFrame(conn)
		if err != nil {
			return 0 // the harness closed: the host ends
		}
		switch typ {
		case relayStdout:
			if _, err := os.Stdout.Write(payload); err != nil {
				return 1
			}
		case relayExit:
			os.Stdout.Close()
			if len(payload) == 1 {
				return int(payload[0])
			}
			return 0
		case relayKill:
			if p, err := os.FindProcess(os.Getpid()); err == nil {
				p.Kill()
			}
		}
	}
}
