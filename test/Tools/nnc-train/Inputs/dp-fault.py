"""Faults in a data-parallel run (docs/Distributed.md): starts
`MPIRUN -np 2 NNC_TRAIN ARGS...` (a long run), waits for its first epoch,
then stops (`hang`: SIGSTOP) or kills (`exit`: SIGKILL) rank 1, and prints
how the job ended: its exit status, whether it ended within BOUND seconds of
the fault, and its error output. Usage:
dp-fault.py hang|exit BOUND MPIRUN... -- NNC_TRAIN ARGS..."""

import os
import signal
import subprocess
import sys
import threading
import time


def children(pid):
    """The process ids whose parent is `pid` (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    out.append(int(entry))
            except OSError:
                pass
    return out


def rank_of(pid):
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            for var in f.read().split(b"\0"):
                if var.startswith(b"OMPI_COMM_WORLD_RANK="):
                    return int(var.split(b"=")[1])
    except OSError:
        pass
    return None


def main():
    mode, bound = sys.argv[1], float(sys.argv[2])
    split = sys.argv.index("--")
    cmd = sys.argv[3:split] + ["-np", "2"] + sys.argv[split + 1:]
    job = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    err = []
    threading.Thread(target=lambda: err.extend(job.stderr), daemon=True).start()
    for line in job.stdout:  # rank 0's output
        if line.startswith("epoch"):
            break
    else:
        print("the job ended before its first epoch:", "".join(err))
        sys.exit(1)
    threading.Thread(target=lambda: [None for _ in job.stdout],
                     daemon=True).start()
    victim = None
    for pid in children(job.pid):
        if rank_of(pid) == 1:
            victim = pid
    if victim is None:
        print("no rank 1 among mpirun's children")
        job.kill()
        sys.exit(1)
    fault = time.time()
    os.kill(victim, signal.SIGSTOP if mode == "hang" else signal.SIGKILL)
    try:
        status = job.wait(timeout=bound + 30)
    except subprocess.TimeoutExpired:
        job.kill()
        if mode == "hang":
            os.kill(victim, signal.SIGKILL)
        print("HUNG: the job did not end within %g s of the fault" %
              (bound + 30))
        sys.exit(1)
    elapsed = time.time() - fault
    if mode == "hang":
        try:
            os.kill(victim, signal.SIGKILL)
        except OSError:
            pass
    time.sleep(0.2)
    print("exit status: %s" % ("non-zero" if status != 0 else "zero"))
    print("ended within %g s: %s" % (bound, "yes" if elapsed <= bound
                                     else "NO (%.1f s)" % elapsed))
    sys.stdout.write("".join(err))


main()
