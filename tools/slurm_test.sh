#!/usr/bin/env bash
# slurm_test.sh — `relprop explain --shard` under a real Slurm (Debian's slurm-wlm and munge, installed
# if missing): a one-node cluster on this machine (localhost, 2 CPUs, its own ports, state and munge
# socket in a temporary folder), tools/cluster/relprop-array.sbatch submitted as an array of 4 tasks
# over 40 demo images into one folder, one task cancelled mid-run (scancel) and submitted again, and
# the merged index.csv/index.json and every .npy/.png compared byte for byte with a single-process
# run. The daemons are stopped and the temporary folder removed on exit, whatever happens.
# Ends with one line "N passed, N failed, N skipped" (skipped, with the reason, where Slurm cannot be
# installed or started here). Env: RELPROP_BUILD_DIR (default build).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=${RELPROP_BUILD_DIR:-build}
P=0; F=0
pass() { P=$((P + 1)); echo "ok: $*"; }
fail() { F=$((F + 1)); echo "FAILED: $*"; }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
skip() { echo "slurm_test.sh: skipped: $*"; echo "0 passed, 0 failed, 1 skipped"; exit 0; }

if ! command -v slurmctld > /dev/null || ! command -v munged > /dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get > /dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge > /dev/null 2>&1 ||
      skip "apt-get install slurm-wlm munge failed (no network or apt lock?)"
  else
    skip "slurm-wlm and munge are not installed and this is not root with apt-get"
  fi
fi
[[ $(id -u) -eq 0 ]] || skip "the one-node cluster runs its daemons as root (SlurmUser=root); run as root"
bash tools/build.sh > /dev/null 2>&1 || { echo "slurm_test.sh: build failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
RELPROP=$ROOT/$BUILD/tools/relprop

T=$(mktemp -d /tmp/relprop-slurm.XXXXXX)
chmod 755 "$T"
cleanup() {
  [[ -n "${SLURM_CONF:-}" && -f "$T/slurmctld.pid" ]] && scancel --quiet --user=root 2> /dev/null
  for pidfile in "$T/slurmd.pid" "$T/slurmctld.pid" "$T/munged.pid"; do
    [[ -f "$pidfile" ]] && kill "$(cat "$pidfile")" 2> /dev/null
  done
  sleep 1
  for pidfile in "$T/slurmd.pid" "$T/slurmctld.pid" "$T/munged.pid"; do
    [[ -f "$pidfile" ]] && kill -9 "$(cat "$pidfile")" 2> /dev/null
  done
  rm -rf "$T"
}
trap cleanup EXIT

# 40 inputs: the 6 demo digits under 40 names.
mkdir -p "$T/data" "$T/logs"
digits=(tools/demo/digit_*.png)
for i in $(seq 0 39); do cp "${digits[$((i % ${#digits[@]}))]}" "$T/data/img_$(printf %02d "$i").png"; done
# Each input costs ~1,000 forwards (occlusion, 2x2 windows at stride 1, one input per batch; 0.8 s on the
# loaded 2-core machine this was written on): long enough to cancel a task in the middle of its inputs.
OPTIONS="--no-preprocess --method occlusion --window 2 --stride 1 --batch-size 1"

# The reference: one process, all 40 inputs.
cd "$T"
start=$(date +%s.%N)
# shellcheck disable=SC2086
"$RELPROP" explain "$ROOT/tools/demo/digits.onnx" data --out-dir single $OPTIONS > logs/single.out 2>&1
check "single-process reference run" test -f single/index.csv
single_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

# munge: its own key, socket, pid, log and seed files.
dd if=/dev/urandom of="$T/munge.key" bs=1 count=1024 status=none
chmod 400 "$T/munge.key"
munged --force --key-file="$T/munge.key" --socket="$T/munge.sock" --pid-file="$T/munged.pid" \
  --log-file="$T/munged.log" --seed-file="$T/munged.seed" 2> "$T/munged.err" ||
  skip "munged does not start here: $(cat "$T/munged.err")"

HOST=$(hostname -s)
PORT=$((20000 + RANDOM % 20000))
cat > "$T/slurm.conf" << EOF
ClusterName=relproptest
SlurmctldHost=$HOST
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
AuthInfo=socket=$T/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SlurmdTimeout=30
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=2 RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$T/slurm.conf
mkdir -p "$T/state" "$T/spool"
slurmctld -f "$SLURM_CONF" 2> "$T/slurmctld.err" || skip "slurmctld does not start: $(tail -n 3 "$T/slurmctld.err" "$T/slurmctld.log" 2> /dev/null)"
slurmd -f "$SLURM_CONF" 2> "$T/slurmd.err" || skip "slurmd does not start: $(tail -n 3 "$T/slurmd.err" "$T/slurmd.log" 2> /dev/null)"
for _ in $(seq 1 60); do
  sinfo -h -o %t 2> /dev/null | grep -qE '^idle' && break
  sleep 1
done
sinfo -h -o %t 2> /dev/null | grep -qE '^idle' ||
  skip "the Slurm node did not become idle within 60 s: $(sinfo 2>&1 | tail -n 2); $(tail -n 5 "$T/slurmd.log" "$T/slurmctld.log")"
pass "munged, slurmctld and slurmd started; node idle"

submit() {  # submit ARRAY: the README's sbatch script over the 40 inputs; waits; prints the job id first
  SHARDS=4 RELPROP=$RELPROP MODEL=$ROOT/tools/demo/digits.onnx INPUTS=data OUT=sharded OPTIONS=$OPTIONS \
    sbatch --wait --parsable --array="$1" --output="$T/logs/%A_%a.out" --chdir="$T" \
    "$ROOT/tools/cluster/relprop-array.sbatch"
}

# The array; task 0 is cancelled once it has explained 2 of its inputs.
start=$(date +%s.%N)
submit 0-3 > "$T/first.out" 2> "$T/first.err" &
waiter=$!
for _ in $(seq 1 200); do
  [[ -s sharded/index.shard-0-of-4.csv && $(wc -l < sharded/index.shard-0-of-4.csv) -ge 3 ]] && break
  sleep 0.1
done
job=$(head -n 1 "$T/first.out")
check "task 0 is running and has written rows" test "$(wc -l < sharded/index.shard-0-of-4.csv 2> /dev/null || echo 0)" -ge 3
scancel "${job}_0"
wait "$waiter"
first_rc=$?
array_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
check "sbatch --wait reports the cancelled task (exit $first_rc)" test "$first_rc" -ne 0
rows0=$(($(wc -l < sharded/index.shard-0-of-4.csv) - 1))
mine0=$(cd data && for f in *.png; do python3 -c 'import hashlib,sys; n=sys.argv[1].encode(); print(int(hashlib.sha256(n).hexdigest()[:16],16)%4)' "$f"; done | grep -c '^0$')
check "task 0 was cancelled mid-run ($rows0 of its $mine0 inputs done)" test "$rows0" -ge 2 -a "$rows0" -lt "$mine0"
check "no index.csv while a shard is unfinished" test ! -e sharded/index.csv
"$RELPROP" merge sharded > logs/merge1.out 2>&1
merge_rc=$?
check "relprop merge refuses and names shard 0 (exit $merge_rc): $(head -c 200 logs/merge1.out)" \
  grep -q "shard 0 of 4: $((mine0 - rows0)) " logs/merge1.out
check "... with exit 1" test "$merge_rc" -eq 1

# Resubmit the cancelled task: it resumes and, finding every other shard complete, merges.
submit 0 > "$T/second.out" 2> "$T/second.err"
check "the resubmitted task 0 succeeds" test $? -eq 0
job2=$(head -n 1 "$T/second.out")
check "it skipped the $rows0 inputs done before" grep -q "explained $((mine0 - rows0)) of its $mine0 input(s), $rows0 already done" "$T/logs/${job2}_0.out"
check "it merged the index" grep -q "every shard is complete: merged 40 input(s)" "$T/logs/${job2}_0.out"

check "index.csv equals the single-process run's byte for byte" cmp -s single/index.csv sharded/index.csv
check "index.json equals the single-process run's byte for byte" cmp -s single/index.json sharded/index.json
same=0; differ=0
for f in single/*.npy single/*.png; do
  if cmp -s "$f" "sharded/$(basename "$f")"; then same=$((same + 1)); else differ=$((differ + 1)); fi
done
check "all 80 outputs (.npy and .png) equal byte for byte ($same equal, $differ differ)" test "$same" -eq 80 -a "$differ" -eq 0
# Besides the outputs: the folder lock (shared by shards), the merge lock, per shard its lock, its rows and the
# run.json its rows were made under (.run), the merged index and run.json.
check "only the expected files in the shared folder" test "$(find sharded -maxdepth 1 -type f ! -name '*.npy' ! -name '*.png' | xargs -n1 basename | LC_ALL=C sort | tr '\n' ' ')" = \
  ".relprop.lock .relprop.merge.lock .relprop.shard-0-of-4.lock .relprop.shard-0-of-4.run .relprop.shard-1-of-4.lock .relprop.shard-1-of-4.run .relprop.shard-2-of-4.lock .relprop.shard-2-of-4.run .relprop.shard-3-of-4.lock .relprop.shard-3-of-4.run index.csv index.json index.shard-0-of-4.csv index.shard-1-of-4.csv index.shard-2-of-4.csv index.shard-3-of-4.csv run.json "

readme_quotes() { python3 -c 'import sys; sys.exit(open(sys.argv[2]).read() not in open(sys.argv[1]).read())' "$ROOT/README.md" "$1"; }
check "README quotes tools/cluster/relprop-array.sbatch as it is" readme_quotes "$ROOT/tools/cluster/relprop-array.sbatch"
check "README quotes tools/cluster/relprop-indexed-job.yaml as it is" readme_quotes "$ROOT/tools/cluster/relprop-indexed-job.yaml"

echo "slurm_test.sh: single-process run ${single_s} s; first array (4 tasks on 2 CPUs, one cancelled) ${array_s} s; ${SECONDS} s in all"
if (( F > 0 )); then
  for f in "$T"/logs/*.out; do echo "--- $f"; tail -n 5 "$f"; done
  tail -n 20 "$T/slurmctld.log" "$T/slurmd.log"
fi
echo "$P passed, $F failed, 0 skipped"
(( F == 0 ))
