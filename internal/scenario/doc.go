// Package scenario generates OT network scenarios for real and records what
// crossed the wire: real client and server stacks (simonvetter/modbus,
// goburrow/modbus, nmap, FTP and Telnet dialogues), real kernel TCP/IP and
// ARP, on a veth pair between the test's network namespace and a namespace
// of its own, captured live on the host end with the sensor's own AF_PACKET
// source and written to a pcap file.
//
// The layout (see README.md):
//
//	test's namespace                       namespace Net.Pair.NS
//	Pair.Host 10.77.0.1/24  <── veth ──>   Pair.Peer 10.77.0.2/24 (+ extra peers, e.g. 10.77.0.3)
//	(servers: Modbus 502, FTP 21,          route 10.77.0.0/16 via 10.77.0.1
//	 Telnet 23; the capture)               default via 10.77.0.1
//
// Servers listen on the host end in the test's namespace; clients and
// attackers run inside the namespace (InNS for Go code, ip netns exec for
// nmap). Packets the namespace sends to other or public addresses leave
// through the veth and are captured on the host end, where they are dropped:
// forwarding is switched off on the host end only (nothing else in the
// test's namespace changes: no route, no address beyond the host end's, no
// global sysctl), so nothing leaves the pair.
//
// The addresses are fixed, so one Net at a time may exist on a machine: New
// takes an exclusive lock (a file under /run) that other test processes wait
// for, and fails the test if this process already holds one. Do not use
// t.Parallel with tests that call New.
//
// Everything needs root (CAP_NET_ADMIN, CAP_NET_RAW) and iproute2; without
// them New skips the test. Everything New and the servers create is removed
// with t.Cleanup.
package scenario
