package dissect

import (
	"fmt"
	"sort"
)

// Registry holds the dissectors a pipeline may use. It is built once at start
// (see package dissectors/all) and read-only afterwards, so lookups need no lock.
type Registry struct {
	specs  []Spec
	byName map[string]int
	tcp    map[uint16][]int
	udp    map[uint16][]int
	ether  map[uint16]int
	llc    map[uint64]int
	probed []int // specs with a probe, for protocols on odd ports
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{
		byName: map[string]int{},
		tcp:    map[uint16][]int{},
		udp:    map[uint16][]int{},
		ether:  map[uint16]int{},
		llc:    map[uint64]int{},
	}
}

// Register adds a dissector. It panics on a duplicate name, on a spec without
// a name or constructor, and when a second dissector claims a port without a
// content probe on both sides (the pipeline could not tell them apart), or
// claims an EtherType or LLC key already taken.
func (r *Registry) Register(s Spec) {
	if s.Name == "" || s.New == nil {
		panic(fmt.Sprintf("dissect: spec %q has no name or constructor", s.Name))
	}
	if _, dup := r.byName[s.Name]; dup {
		panic(fmt.Sprintf("dissect: dissector %q registered twice", s.Name))
	}
	idx := len(r.specs)
	claim := func(m map[uint16][]int, transport string, ports []uint16) {
		for _, p := range ports {
			for _, other := range m[p] {
				if s.Probe == nil || r.specs[other].Probe == nil {
					panic(fmt.Sprintf("dissect: %s port %d claimed by %q and %q without content probes",
						transport, p, r.specs[other].Name, s.Name))
				}
			}
			m[p] = append(m[p], idx)
		}
	}
	claim(r.tcp, "tcp", s.TCPPorts)
	claim(r.udp, "udp", s.UDPPorts)
	for _, et := range s.EtherTypes {
		if other, ok := r.ether[et]; ok {
			panic(fmt.Sprintf("dissect: EtherType %#04x claimed by %q and %q", et, r.specs[other].Name, s.Name))
		}
		r.ether[et] = idx
	}
	for _, k := range s.LLC {
		if other, ok := r.llc[k]; ok {
			panic(fmt.Sprintf("dissect: LLC key %#x claimed by %q and %q", k, r.specs[other].Name, s.Name))
		}
		r.llc[k] = idx
	}
	r.specs = append(r.specs, s)
	r.byName[s.Name] = idx
	if s.Probe != nil {
		r.probed = append(r.probed, idx)
	}
}

// Lookup returns the spec registered under name.
func (r *Registry) Lookup(name string) (Spec, bool) {
	i, ok := r.byName[name]
	if !ok {
		return Spec{}, false
	}
	return r.specs[i], true
}

// Len returns the number of registered dissectors.
func (r *Registry) Len() int { return len(r.specs) }

// Spec returns the spec with index i (0 ≤ i < Len).
func (r *Registry) Spec(i int) *Spec { return &r.specs[i] }

// Names returns the registered names, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.specs))
	for _, s := range r.specs {
		out = append(out, s.Name)
	}
	sort.Strings(out)
	return out
}

// ByEtherType returns the index of the dissector for a raw EtherType, or -1.
func (r *Registry) ByEtherType(et uint16) int {
	if i, ok := r.ether[et]; ok {
		return i
	}
	return -1
}

// ByLLC returns the index of the dissector for an LLC key (see LLCKey), or -1.
func (r *Registry) ByLLC(key uint64) int {
	if i, ok := r.llc[key]; ok {
		return i
	}
	return -1
}

// HasPort reports whether any dissector claims the port on the transport.
func (r *Registry) HasPort(t Transport, port uint16) bool {
	m := r.tcp
	if t == TransportUDP {
		m = r.udp
	}
	return len(m[port]) > 0
}

// Select picks the dissector for a TCP or UDP flow from its ports and first
// payload. Dissectors that claim one of the ports are tried first: one with a
// probe is chosen when its probe says yes, one without a probe when it is the
// only claimant. Then every probing dissector is tried, so that protocols on
// odd ports are found. It returns the spec index, or -1 with ProbeNeedMore
// when a probe wants more bytes, or -1 with ProbeNo when nothing matches.
func (r *Registry) Select(t Transport, serverPort, clientPort uint16, data []byte) (int, ProbeResult) {
	m := r.tcp
	if t == TransportUDP {
		m = r.udp
	}
	needMore := false
	tried := -1
	for pass, port := range [2]uint16{serverPort, clientPort} {
		if pass == 1 && port == serverPort {
			break
		}
		cands := m[port]
		for _, i := range cands {
			s := &r.specs[i]
			if s.Probe == nil {
				if len(cands) == 1 {
					return i, ProbeYes
				}
				continue
			}
			switch s.Probe(data) {
			case ProbeYes:
				return i, ProbeYes
			case ProbeNeedMore:
				needMore = true
			}
			if len(cands) == 1 {
				tried = i
			}
		}
	}
	for _, i := range r.probed {
		if i == tried || !r.portless(t, i) {
			continue
		}
		switch r.specs[i].Probe(data) {
		case ProbeYes:
			return i, ProbeYes
		case ProbeNeedMore:
			needMore = true
		}
	}
	if needMore {
		return -1, ProbeNeedMore
	}
	return -1, ProbeNo
}

// portless reports whether spec i runs over transport t at all (it lists
// ports on it), so that a UDP-only protocol is not probed on TCP.
func (r *Registry) portless(t Transport, i int) bool {
	if t == TransportTCP {
		return len(r.specs[i].TCPPorts) > 0
	}
	return len(r.specs[i].UDPPorts) > 0
}
