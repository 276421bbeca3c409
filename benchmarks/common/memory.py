"""The process's own memory, as the benchmarks measure a step's: the growth
of the resident set over the step (peak over a reset high-water mark), the
same way for nnc and the peer. Linux /proc only."""

import mmap

PAGE = mmap.PAGESIZE


def rss():
    """Resident bytes now."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def _status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def peak_rss():
    """The resident set's high-water mark (VmHWM) in bytes."""
    return _status("VmHWM")


def rss_anon():
    """Resident anonymous bytes (no code or file pages)."""
    return _status("RssAnon")


def reset_peak():
    """Resets VmHWM to the current RSS (writing 5 to clear_refs, Linux >=
    4.0); False where the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False
