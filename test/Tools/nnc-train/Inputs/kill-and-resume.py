"""Kills a training run (SIGKILL) once it has written its training state,
for checkpoint-resume.test: `kill-and-resume.py STATE CMD...` starts CMD,
waits for STATE to exist, kills the run and prints whether it was killed
before it finished (it must be: else the test proves nothing)."""

import os
import signal
import subprocess
import sys
import time

state, cmd = sys.argv[1], sys.argv[2:]
run = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
while not os.path.exists(state) and run.poll() is None:
    time.sleep(0.01)
time.sleep(0.05)  # a few more checkpoints, one maybe half written
finished = run.poll() is not None
run.send_signal(signal.SIGKILL)
run.wait()
print("killed before the end:", "no" if finished else "yes")
