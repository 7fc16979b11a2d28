#!/usr/bin/env bash
# make bench: packets/s per core of the sensor's stages on a generated OT
# capture and on the sample captures, with tshark and ndpiReader timed in the
# same run on the same files, so every figure is a ratio to a baseline
# measured here and now (machines are noisy; absolute numbers are not).
#
#   scripts/bench.sh [PACKETS]     (default 2,000,000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000000}
TSHARK_N=${TSHARK_PACKETS:-200000}
mkdir -p .bench
GEN=.bench/ot-$N.pcap
if [ ! -s "$GEN" ]; then
  echo "== generating $N packets of synthetic OT traffic into $GEN"
  go run ./tools/gen-otpcap -o "$GEN" -packets "$N"
fi
SAMPLES=.bench/samples.pcap
if [ ! -s "$SAMPLES" ]; then
  # The Ethernet sample captures, merged into one file for one measurement.
  mapfile -t eth < <(find pcaps -path pcaps/expected -prune -o -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) -print |
    sort | xargs capinfos -T -r -E 2>/dev/null | awk -F'\t' '$2 == "ether" {print $1}')
  mergecap -F pcap -w "$SAMPLES" "${eth[@]}"
fi

pkts() { capinfos -M -c "$1" 2>/dev/null | awk -F: '/Number of packets/ {gsub(/ /,"",$2); print $2}'; }

# seconds FILE CMD... : wall time of a command, best of 3.
seconds() {
  local best=""
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N)
    local d; d=$(echo "$e - $s" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$d < $best" | bc -l)" = 1 ]; then best=$d; fi
  done
  echo "$best"
}

report() { # name packets seconds
  printf "%-34s %12.0f pkts/s\n" "$1" "$(echo "$2 / $3" | bc -l)"
}

bench_file() {
  local f=$1 label=$2
  local n; n=$(pkts "$f")
  echo
  echo "== $label: $f ($n packets)"
  echo "-- Go benchmarks (one core, GOMAXPROCS=1):"
  OTWATCH_BENCH_PCAP="$PWD/$f" GOMAXPROCS=1 go test ./sensor/pipeline/ -run '^$' \
    -bench 'RawRead|Decode' -benchtime 3x -benchmem | tee .bench/go-$label.txt | grep -E '^Benchmark'
  local ours; ours=$(awk '/BenchmarkDecodeFlowsDissectors/ {for (i=1;i<=NF;i++) if ($(i+1)=="pkts/s") print $i}' .bench/go-$label.txt)
  local flows; flows=$(awk '/BenchmarkDecodeFlows-|BenchmarkDecodeFlows / {for (i=1;i<=NF;i++) if ($(i+1)=="pkts/s") print $i}' .bench/go-$label.txt)
  local raw; raw=$(awk '/BenchmarkRawRead/ {for (i=1;i<=NF;i++) if ($(i+1)=="pkts/s") print $i}' .bench/go-$label.txt)

  echo "-- inventory share of the per-packet cost (whole analysis, one core):"
  OTWATCH_BENCH_PCAP="$PWD/$f" GOMAXPROCS=1 go test ./sensor/analyze/ -run '^$' -bench 'Analyze$|AnalyzeInventory$' -benchtime 3x \
    | tee .bench/inv-$label.txt | grep -E '^Benchmark'
  awk '/BenchmarkAnalyze-|BenchmarkAnalyze / {for (i=1;i<=NF;i++) if ($(i+1)=="ns/pkt") a=$i}
       /BenchmarkAnalyzeInventory/ {for (i=1;i<=NF;i++) if ($(i+1)=="ns/pkt") b=$i}
       END {if (a > 0) printf "  with inventory / without                %6.2f\n", b/a}' .bench/inv-$label.txt
  echo "-- detection engines' cost (whole analysis, one core; baseline learned on the file, operational, default rules):"
  OTWATCH_BENCH_PCAP="$PWD/$f" GOMAXPROCS=1 go test ./sensor/analyze/ -run '^$' -bench 'AnalyzeDetect$|AnalyzeNoDetect$' \
    -benchtime 3x | tee .bench/det-$label.txt | grep -E '^Benchmark'
  awk '$1 ~ /^BenchmarkAnalyzeNoDetect(-[0-9]+)?$/ {for (i=1;i<=NF;i++) {if ($(i+1)=="pkts/s") a=$i; if ($(i+1)=="pkts/cpu-s") c=$i}}
       $1 ~ /^BenchmarkAnalyzeDetect(-[0-9]+)?$/ {for (i=1;i<=NF;i++) {if ($(i+1)=="pkts/s") b=$i; if ($(i+1)=="pkts/cpu-s") d=$i}}
       END {if (a > 0 && c > 0) printf "  with detection / without, pkts/s         %6.2f  (goal >= 0.80)\n  with detection / without, pkts/cpu-s     %6.2f\n", b/a, d/c}' \
    .bench/det-$label.txt
  echo "-- whole binaries on the file (wall time, best of 3):"
  local t_ot; t_ot=$(seconds env GOMAXPROCS=1 bin/otsensor analyze --progress never "$f")
  report "otsensor analyze (1 core)" "$n" "$t_ot"
  local cut=.bench/tshark-cut.pcap
  local tn=$n
  if [ "$n" -gt "$TSHARK_N" ]; then editcap -r "$f" "$cut" "1-$TSHARK_N" >/dev/null 2>&1; tn=$TSHARK_N; else cp "$f" "$cut"; fi
  local t_ts; t_ts=$(seconds tshark -n -r "$cut" -q -z io,phs)
  report "tshark -z io,phs (first $tn)" "$tn" "$t_ts"
  local t_nd=""
  if command -v ndpiReader >/dev/null; then
    t_nd=$(seconds ndpiReader -q -i "$f")
    report "ndpiReader -q" "$n" "$t_nd"
  fi
  local ot_rate ts_rate
  ot_rate=$(echo "$n / $t_ot" | bc -l); ts_rate=$(echo "$tn / $t_ts" | bc -l)
  echo "-- ratios (same run):"
  printf "  decode+flows / raw read loop           %6.2f\n" "$(echo "$flows / $raw" | bc -l)"
  printf "  decode+flows+dissectors / raw read     %6.2f\n" "$(echo "$ours / $raw" | bc -l)"
  printf "  decode+flows+dissectors / tshark       %6.1fx\n" "$(echo "$ours / $ts_rate" | bc -l)"
  printf "  otsensor analyze / tshark              %6.1fx\n" "$(echo "$ot_rate / $ts_rate" | bc -l)"
  if [ -n "$t_nd" ]; then
    printf "  otsensor analyze / ndpiReader          %6.2fx\n" "$(echo "$ot_rate / ($n / $t_nd)" | bc -l)"
  fi
}

go build -o bin/otsensor ./sensor/cmd/otsensor
bench_file "$GEN" synthetic
bench_file "$SAMPLES" samples
echo
echo "== allocation benchmarks (per packet / per PDU):"
go test ./sensor/decode/ ./sensor/flow/ -run '^$' -bench . -benchmem | grep -E '^Benchmark'
