#!/usr/bin/env bash
# Records pcaps/generated/opcua-historian-hmi.pcap: a real OPC UA stack
# (node-opcua) — a server, a historian that subscribes and never writes, and
# an HMI that reads and writes a setpoint — each on its own host, in network
# namespaces of this script's own (nothing leaves them). Needs root, iproute2,
# dumpcap (tshark package) and node with node-opcua 2.186.4 installed in
# NODE_DIR (npm install node-opcua@2.186.4).
set -euo pipefail
cd "$(dirname "$0")"
OUT=${1:-../../pcaps/generated/opcua-historian-hmi.pcap}
NODE_DIR=${NODE_DIR:?set NODE_DIR to a folder with node_modules/node-opcua}
export NODE_PATH=$NODE_DIR/node_modules
S=otw-plc H=otw-hist M=otw-hmi BR=otwbr
cleanup() {
  for n in $S $H $M; do ip netns del $n 2>/dev/null || true; done
  ip link del $BR 2>/dev/null || true
  [ -n "${CAP:-}" ] && kill $CAP 2>/dev/null || true
  [ -n "${SRV:-}" ] && kill $SRV 2>/dev/null || true
}
trap cleanup EXIT
ip link add $BR type bridge && ip link set $BR up
i=10
for n in $S $H $M; do
  ip netns add $n
  ip link add v$n type veth peer name eth0 netns $n
  ip link set v$n master $BR up
  ip -n $n addr add 10.77.0.$i/24 dev eth0
  ip -n $n link set eth0 up && ip -n $n link set lo up
  i=$((i+10))
done
sysctl -qw net.ipv6.conf.$BR.disable_ipv6=1 || true
mkdir -p "$(dirname "$OUT")"
dumpcap -q -i $BR -f "tcp port 4840 or arp" -P -w "$OUT.tmp" & CAP=$!
sleep 1
ip netns exec $S node server.js >/dev/null 2>&1 & SRV=$!
sleep 4
ip netns exec $H node historian.js opc.tcp://10.77.0.10:4840/UA/Plant
ip netns exec $M node hmi.js opc.tcp://10.77.0.10:4840/UA/Plant
sleep 1
kill $CAP; wait $CAP 2>/dev/null || true
mv "$OUT.tmp" "$OUT"
echo "wrote $OUT"
