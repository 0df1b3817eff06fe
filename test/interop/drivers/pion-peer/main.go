// Command pion-peer is a pion/ice (v2, Debian golang-github-pion-ice.v2-dev) agent that speaks
// `icekit ice`'s line-JSON signaling, so a test can wire it to `icekit ice` exactly like a second
// icekit process:
//
//	pion-peer (--controlling | --controlled) [--host IP ...] [--stun HOST:PORT]
//	    [--turn HOST:PORT --turn-user U --turn-pass P] [--ping N] [--timeout MS] [--no-host]
//
// Same messages and exit rules as `icekit ice` (src/cli/ice.ts). Build it offline from Debian's
// sources (INTEROP.md):
//
//	GOPATH=$dir:/usr/share/gocode GO111MODULE=off GOPROXY=off go build -o $dir/pion-peer ./test/interop/drivers/pion-peer
//
// pion/ice v2 has no end-of-candidates; the message is accepted and ignored.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v2"
)

type hostList []string

func (h *hostList) String() string     { return strings.Join(*h, ",") }
func (h *hostList) Set(v string) error { *h = append(*h, v); return nil }

var outMu sync.Mutex

func emit(v map[string]interface{}) {
	b, _ := json.Marshal(v)
	outMu.Lock()
	os.Stdout.Write(append(b, '\n'))
	outMu.Unlock()
}

func logf(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "pion-peer: "+format+"\n", a...)
}

func main() {
	os.Exit(run())
}

func run() int {
	var hosts hostList
	controlling := flag.Bool("controlling", false, "controlling role")
	controlled := flag.Bool("controlled", false, "controlled role")
	flag.Var(&hosts, "host", "local IP to gather on (repeatable)")
	stunServer := flag.String("stun", "", "STUN server HOST:PORT")
	turnServer := flag.String("turn", "", "TURN server HOST:PORT")
	turnUser := flag.String("turn-user", "", "TURN username")
	turnPass := flag.String("turn-pass", "", "TURN password")
	pings := flag.Int("ping", 0, "pings to send (controlling) or expect (controlled)")
	timeoutMs := flag.Int("timeout", 10000, "give up after this many ms")
	noHost := flag.Bool("no-host", false, "relayed candidates only")
	flag.Parse()
	if *controlling == *controlled {
		logf("pass exactly one of --controlling and --controlled")
		return 1
	}

	cfg := &ice.AgentConfig{NetworkTypes: []ice.NetworkType{ice.NetworkTypeUDP4}}
	if len(hosts) > 0 {
		allowed := map[string]bool{}
		for _, h := range hosts {
			allowed[net.ParseIP(h).String()] = true
		}
		cfg.IncludeLoopback = true
		cfg.IPFilter = func(ip net.IP) bool { return allowed[ip.String()] }
	}
	if *stunServer != "" {
		u, err := ice.ParseURL("stun:" + *stunServer)
		if err != nil {
			logf("bad --stun: %v", err)
			return 1
		}
		cfg.Urls = append(cfg.Urls, u)
	}
	if *turnServer != "" {
		u, err := ice.ParseURL("turn:" + *turnServer)
		if err != nil {
			logf("bad --turn: %v", err)
			return 1
		}
		u.Username, u.Password = *turnUser, *turnPass
		cfg.Urls = append(cfg.Urls, u)
	}
	if *noHost {
		cfg.CandidateTypes = []ice.CandidateType{ice.CandidateTypeRelay}
	}
	agent, err := ice.NewAgent(cfg)
	if err != nil {
		logf("NewAgent: %v", err)
		return 1
	}
	defer func() {
		_ = agent.Close()
		emit(map[string]interface{}{"type": "state", "state": "closed"})
	}()

	ufrag, pwd, _ := agent.GetLocalUserCredentials()
	emit(map[string]interface{}{"type": "params", "ufrag": ufrag, "pwd": pwd})
	_ = agent.OnCandidate(func(c ice.Candidate) {
		if c == nil {
			emit(map[string]interface{}{"type": "end-of-candidates"})
			return
		}
		emit(map[string]interface{}{"type": "candidate", "candidate": "candidate:" + c.Marshal()})
	})
	done := make(chan int, 4)
	_ = agent.OnConnectionStateChange(func(s ice.ConnectionState) {
		if s == ice.ConnectionStateClosed {
			return // printed once, at exit
		}
		emit(map[string]interface{}{"type": "state", "state": strings.ToLower(s.String())})
		if s == ice.ConnectionStateFailed {
			done <- 1
		}
	})
	_ = agent.OnSelectedCandidatePairChange(func(l, r ice.Candidate) {
		emit(map[string]interface{}{"type": "selected", "local": "candidate:" + l.Marshal(), "remote": "candidate:" + r.Marshal()})
	})
	if err := agent.GatherCandidates(); err != nil {
		logf("GatherCandidates: %v", err)
		return 1
	}

	// Signaling from stdin.
	creds := make(chan [2]string, 1)
	stdinEnded := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		gotParams := false
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			var m map[string]interface{}
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				logf("ignoring a line that is not JSON: %.120s", line)
				continue
			}
			switch m["type"] {
			case "params":
				u, _ := m["ufrag"].(string)
				p, _ := m["pwd"].(string)
				if u != "" && p != "" && !gotParams {
					gotParams = true
					creds <- [2]string{u, p}
				}
			case "candidate":
				s, _ := m["candidate"].(string)
				s = strings.TrimPrefix(strings.TrimPrefix(s, "a="), "candidate:")
				c, err := ice.UnmarshalCandidate(s)
				if err != nil {
					logf("ignoring candidate %q: %v", s, err)
					continue
				}
				if err := agent.AddRemoteCandidate(c); err != nil {
					logf("AddRemoteCandidate: %v", err)
				}
			}
		}
		close(stdinEnded)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(*timeoutMs)*time.Millisecond)
	defer cancel()
	var remote [2]string
	select {
	case remote = <-creds:
	case <-ctx.Done():
		logf("timed out waiting for the peer's params")
		return 1
	}
	var conn *ice.Conn
	if *controlling {
		conn, err = agent.Dial(ctx, remote[0], remote[1])
	} else {
		conn, err = agent.Accept(ctx, remote[0], remote[1])
	}
	if err != nil {
		logf("connect: %v", err)
		return 1
	}

	received := make(chan []byte, 64)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(received)
				return
			}
			received <- append([]byte(nil), buf[:n]...)
		}
	}()

	if *controlling && *pings > 0 {
		var rtts []float64
		for i := 0; i < *pings; i++ {
			payload := fmt.Sprintf("ping-%d", i)
		resend:
			for {
				sentAt := time.Now()
				if _, err := conn.Write([]byte(payload)); err != nil {
					logf("write: %v", err)
				}
				timer := time.NewTimer(250 * time.Millisecond)
				for {
					select {
					case d, ok := <-received:
						if !ok {
							return 1
						}
						if string(d) == payload {
							timer.Stop()
							rtts = append(rtts, float64(time.Since(sentAt).Microseconds())/1000)
							break resend
						}
					case <-timer.C:
						continue resend
					case <-ctx.Done():
						logf("timed out after %d of %d pings", len(rtts), *pings)
						return 1
					}
				}
			}
		}
		sort.Float64s(rtts)
		mid := len(rtts) / 2
		median := rtts[mid]
		if len(rtts)%2 == 0 {
			median = (rtts[mid-1] + rtts[mid]) / 2
		}
		emit(map[string]interface{}{"type": "done", "sent": *pings, "echoed": len(rtts), "rttMs": float64(int(median*100)) / 100})
		return 0
	}

	// Echo until the exit rule holds.
	seen := map[string]bool{}
	var linger <-chan time.Time
	stdinDone := stdinEnded
	stdinClosed := false
	for {
		select {
		case d, ok := <-received:
			if !ok {
				return 1
			}
			_, _ = conn.Write(d)
			if strings.HasPrefix(string(d), "ping-") {
				seen[string(d)] = true
			}
			if *pings > 0 && len(seen) >= *pings {
				if stdinClosed {
					return 0
				}
				linger = time.After(time.Second)
			}
		case <-stdinDone:
			stdinDone = nil
			stdinClosed = true
			if *pings == 0 || len(seen) >= *pings {
				return 0
			}
		case <-linger:
			return 0
		case code := <-done:
			return code
		case <-ctx.Done():
			logf("timed out after %d ms", *timeoutMs)
			return 1
		}
	}
}
