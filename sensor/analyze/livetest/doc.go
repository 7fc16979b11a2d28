// Package livetest holds the acceptance tests of the detection engines on
// traffic generated for real and captured live: every test builds the
// throw-away network of internal/scenario (a network namespace and a veth
// pair, 10.77.0.1 on the host end, 10.77.0.2 and 10.77.0.3 in the
// namespace), runs real client and server stacks over it (goburrow/modbus
// against simonvetter/modbus, FTP and Telnet login dialogues, nmap scans,
// kernel connection floods, ARP spoofing from an AF_PACKET socket, a
// device that stops answering, connections to public addresses), records
// the wire with the sensor's own AF_PACKET source into pcap files, and runs
// analyze.RunDetect on them: learning on a baseline capture where the rule
// needs one, then checking the attack capture.
//
// Each test asserts the exact alert the catalogue promises (rule ID,
// engine, severity, ATT&CK for ICS techniques, source and destination
// addresses of the scenario, a minimum count) and a negative control: the
// baseline capture alone, or traffic below the threshold, or the rule
// switched off or allowed by configuration, raises none of it. Every alert's
// pcap snippet must hold packets of the scenario's addresses and open in
// tshark (that check is skipped when tshark is missing).
//
// The package has no code of its own besides this documentation. The tests
// need Linux, root (CAP_NET_ADMIN, CAP_NET_RAW) and iproute2, and skip
// without them; nmap is used for the scans when installed (kernel connects
// otherwise). Run them with
//
//	go test -race ./sensor/analyze/livetest/
//
// Captures that several tests share (the Modbus polling baseline) are
// generated once per test binary and kept in a temporary directory that
// TestMain removes.
package livetest
