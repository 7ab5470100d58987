"""Sleeps far past its time limit (tests only)."""

import time

print("going to sleep", flush=True)
time.sleep(600)
